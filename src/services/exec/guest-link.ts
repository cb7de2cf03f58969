import type { AgentApi } from '../../libvirt/api/agent.ts';
import type { DomainRef } from '../../libvirt/api/domains.ts';
import type { LibvirtConnection } from '../../libvirt/connection.ts';
import { ErrorCode, isLibvirtError } from '../../libvirt/errors.ts';
import { isServiceError, ServiceError } from '../errors.ts';

/** Located is where a VM's domain is now: the host's connection and the domain on it. */
export interface Located {
  readonly conn: LibvirtConnection;
  readonly dom: DomainRef;
}

/** AGENT_UNRESPONSIVE and AGENT_UNSYNCED are libvirt's errors for an agent that does not answer. */
const AGENT_UNRESPONSIVE = 86;
const AGENT_UNSYNCED = 97;

/** agentFailure says in the user's terms why talking to a VM's guest agent failed. */
export function agentFailure(err: unknown): ServiceError {
  if (isServiceError(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (isLibvirtError(err)) {
    if (err.code === AGENT_UNRESPONSIVE || err.code === AGENT_UNSYNCED)
      return new ServiceError(
        'UNAVAILABLE',
        `the guest agent does not answer (${message}); check that qemu-guest-agent runs in the guest`,
      );
    if (err.code === ErrorCode.ARGUMENT_UNSUPPORTED)
      return new ServiceError(
        'INVALID_STATE',
        `the VM has no guest agent channel yet (${message}); stop and start it to add one`,
      );
    if (err.code === ErrorCode.OPERATION_INVALID)
      return new ServiceError('INVALID_STATE', `the VM is not running: ${message}`);
    if (err.kind === 'remote') return new ServiceError('REFUSED', `the guest said: ${message}`);
  }
  return new ServiceError('UNAVAILABLE', `the VM's host did not answer: ${message}`);
}

// Failures worth waiting out while a command runs: the host reconnecting, the VM moving, the
// agent restarting.
function transient(err: unknown): boolean {
  if (isServiceError(err)) return err.code === 'UNAVAILABLE';
  if (!isLibvirtError(err)) return false;
  if (err.code === AGENT_UNRESPONSIVE || err.code === AGENT_UNSYNCED) return true;
  return err.kind !== 'remote' && err.kind !== 'aborted';
}

const RETRY_PAUSE_MS = 1000;

/**
 * GuestLink is the way to one VM's guest agent for as long as an execution runs. It finds the
 * domain once and again only when the connection is gone or a call fails, so a VM that moved
 * or a host that reconnected is followed.
 */
export class GuestLink {
  private readonly locate: () => Promise<Located>;
  private current: Located | null = null;

  constructor(locate: () => Promise<Located>) {
    this.locate = locate;
  }

  /**
   * call runs `fn` against the agent. With `retryForMs`, transient failures are retried (a
   * second apart) for that long before the last one is thrown; every failure is thrown as a
   * ServiceError.
   */
  async call<T>(fn: (agent: AgentApi, dom: DomainRef) => Promise<T>, retryForMs = 0): Promise<T> {
    const deadline = Date.now() + retryForMs;
    for (;;) {
      try {
        if (!this.current?.conn.isOpen) this.current = await this.locate();
        return await fn(this.current.conn.agent, this.current.dom);
      } catch (err) {
        this.current = null;
        if (!transient(err) || Date.now() >= deadline) throw agentFailure(err);
        await new Promise((r) => setTimeout(r, RETRY_PAUSE_MS));
      }
    }
  }
}
