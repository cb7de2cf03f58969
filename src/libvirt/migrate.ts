import { type DomainRef, domainRef } from './api/domains.ts';
import type { LibvirtConnection } from './connection.ts';
import { LibvirtError } from './errors.ts';
import type { TypedParam } from './generated/remote-protocol.gen.ts';
import { UNBOUNDED } from './rpc/caller.ts';
import { TypedParams } from './typed-params.ts';

/** MigrateFlags are virDomainMigrateFlags. */
export const MigrateFlags = {
  LIVE: 1,
  PEER2PEER: 2,
  TUNNELLED: 4,
  PERSIST_DEST: 8,
  UNDEFINE_SOURCE: 16,
  PAUSED: 32,
  NON_SHARED_DISK: 64,
  NON_SHARED_INC: 128,
  CHANGE_PROTECTION: 256,
  UNSAFE: 512,
  OFFLINE: 1024,
  COMPRESSED: 2048,
  ABORT_ON_ERROR: 4096,
  AUTO_CONVERGE: 8192,
  POSTCOPY: 32768,
  TLS: 65536,
  PARALLEL: 131072,
} as const;

/** MigrateParams are the VIR_MIGRATE_PARAM_* values Kumo sets, each sent with its exact wire type. */
export interface MigrateParams {
  /** migrateUri is where the source QEMU sends the guest (`tcp://<dest-ip>`); set it, or the
   * destination advertises its hostname, which must then resolve from the source. */
  readonly migrateUri?: string;
  readonly destinationName?: string;
  readonly destinationXml?: string;
  readonly persistentXml?: string;
  /** bandwidthMiBs caps the transfer in MiB/s. */
  readonly bandwidthMiBs?: number;
  /** migrateDisks lists the disk targets to copy (`vda`) with NON_SHARED_*; all when absent. */
  readonly migrateDisks?: readonly string[];
  readonly disksPort?: number;
  readonly listenAddress?: string;
  readonly autoConvergeInitial?: number;
  readonly autoConvergeIncrement?: number;
}

/** MigratePhase is the step of libvirt's v3 sequence now running. */
export type MigratePhase = 'begin' | 'prepare' | 'perform' | 'finish' | 'confirm';

/** MigrateOptions drive one migration. */
export interface MigrateOptions {
  readonly flags: number;
  readonly params?: MigrateParams;
  /** signal aborts the migration job on the source; the guest stays there. */
  readonly signal?: AbortSignal;
  readonly onPhase?: (phase: MigratePhase) => void;
  /**
   * beforeConfirm runs once the guest runs on the destination and before Confirm ends it on
   * the source: its last figures there can still be read. A failure of it is ignored.
   */
  readonly beforeConfirm?: () => Promise<void>;
}

const DEST_ONLY_MASK = ~(MigrateFlags.ABORT_ON_ERROR | MigrateFlags.AUTO_CONVERGE);

/**
 * migrate moves a domain from `src` to `dst` with the client driving libvirt's v3 "params"
 * sequence (Begin/Prepare/Perform/Finish/Confirm) over its own two connections, as libvirt's
 * client library does when not peer-to-peer: the hosts need no credentials for each other.
 * QEMU streams the guest straight from host to host; we only carry cookies between them.
 * Resolves with the domain on the destination; on failure the guest keeps running on the source.
 */
export async function migrate(
  src: LibvirtConnection,
  dst: LibvirtConnection,
  dom: DomainRef,
  opts: MigrateOptions,
): Promise<DomainRef> {
  let flags = check(src, dst, opts.flags);
  const prot = src.features.changeProtection ? MigrateFlags.CHANGE_PROTECTION : 0;
  const params = toTypedParams(opts.params ?? {});
  const phase = (p: MigratePhase) => opts.onPhase?.(p);
  if (opts.signal?.aborted)
    throw new LibvirtError('aborted', 'migration cancelled before it began');

  phase('begin');
  const begin = await src.remote.domainMigrateBegin3Params({
    dom: dom.handle,
    params,
    flags: flags | prot,
  });
  if ((await src.domains.state(dom)).state === 'paused') flags |= MigrateFlags.PAUSED;
  const destFlags = flags & DEST_ONLY_MASK;

  phase('prepare');
  const prepareParams = withParam(params, TypedParams.string('destination_xml', begin.xml));
  let prepare: { cookieOut: Buffer; uriOut: string | null };
  try {
    prepare = await dst.remote.domainMigratePrepare3Params({
      params: prepareParams,
      cookieIn: begin.cookieOut,
      flags: destFlags,
    });
  } catch (err) {
    if (prot)
      await confirm(src, dom, params, Buffer.alloc(0), flags | prot, true).catch(() => undefined);
    throw err;
  }
  const performParams = prepare.uriOut
    ? withParam(params, TypedParams.string('migrate_uri', prepare.uriOut))
    : params;
  const finishParams = performParams.some((p) => p.field === 'destination_name')
    ? performParams
    : withParam(performParams, TypedParams.string('destination_name', dom.name));

  phase('perform');
  let performError: unknown = null;
  let performed = false;
  let cookie: Buffer = Buffer.alloc(0);
  const abort = () => void src.jobs.abort(dom).catch(() => undefined);
  opts.signal?.addEventListener('abort', abort, { once: true });
  try {
    if (!performParams.some((p) => p.field === 'migrate_uri')) {
      throw new LibvirtError(
        'remote',
        'the destination gave no migration URI and none was set (migrateUri)',
      );
    }
    if (opts.signal?.aborted)
      throw new LibvirtError('aborted', 'migration cancelled before the transfer began');
    performed = true;
    const perform = await src.remote.domainMigratePerform3Params(
      {
        dom: dom.handle,
        dconnuri: null,
        params: performParams,
        cookieIn: prepare.cookieOut,
        flags: flags | prot,
      },
      UNBOUNDED,
    );
    cookie = perform.cookieOut;
  } catch (err) {
    performError = err;
  } finally {
    opts.signal?.removeEventListener('abort', abort);
  }

  let moved: DomainRef | null = null;
  let finishError: unknown = null;
  try {
    // The guest is paused until Finish resumes it: the request goes out before anything else
    // (the phase callback included) gets a turn.
    const finishing = dst.remote.domainMigrateFinish3Params(
      { params: finishParams, cookieIn: cookie, flags: destFlags, cancelled: performError ? 1 : 0 },
      UNBOUNDED,
    );
    phase('finish');
    const finish = await finishing;
    moved = domainRef(finish.dom);
    cookie = finish.cookieOut;
  } catch (err) {
    finishError = err;
  }
  // After a failed Perform the source has already undone its side, so Confirm is skipped;
  // if Perform never ran, Confirm releases the job Begin started.
  if (performError) {
    if (!performed)
      await confirm(src, dom, params, Buffer.alloc(0), flags | prot, true).catch(() => undefined);
    throw performError;
  }

  if (moved) await opts.beforeConfirm?.().catch(() => undefined);
  phase('confirm');
  await confirm(src, dom, params, cookie, flags | prot, moved === null);
  if (!moved)
    throw (
      finishError ??
      new LibvirtError('remote', 'migration finished without a domain on the destination')
    );
  return moved;
}

function check(src: LibvirtConnection, dst: LibvirtConnection, flags: number): number {
  const both = MigrateFlags.NON_SHARED_DISK | MigrateFlags.NON_SHARED_INC;
  if ((flags & both) === both) {
    throw new LibvirtError('remote', 'NON_SHARED_DISK and NON_SHARED_INC cannot be combined');
  }
  if (flags & (MigrateFlags.PEER2PEER | MigrateFlags.TUNNELLED)) {
    throw new LibvirtError(
      'remote',
      'peer-to-peer and tunnelled migration are not client-driven; Kumo drives migrations itself',
    );
  }
  if (!src.features.migrationParams || !dst.features.migrationParams) {
    throw new LibvirtError(
      'remote',
      'both daemons must support migration with typed parameters (libvirt >= 1.1)',
    );
  }
  return flags & ~MigrateFlags.CHANGE_PROTECTION;
}

function confirm(
  src: LibvirtConnection,
  dom: DomainRef,
  params: TypedParam[],
  cookieIn: Buffer,
  flags: number,
  cancelled: boolean,
): Promise<void> {
  return src.remote.domainMigrateConfirm3Params(
    { dom: dom.handle, params, cookieIn, flags, cancelled: cancelled ? 1 : 0 },
    UNBOUNDED,
  );
}

function withParam(params: TypedParam[], p: TypedParam): TypedParam[] {
  return [...params.filter((q) => q.field !== p.field), p];
}

/** toTypedParams converts MigrateParams to the wire list, with the types libvirt checks. */
export function toTypedParams(p: MigrateParams): TypedParam[] {
  const out: TypedParam[] = [];
  if (p.migrateUri !== undefined) out.push(TypedParams.string('migrate_uri', p.migrateUri));
  if (p.destinationName !== undefined)
    out.push(TypedParams.string('destination_name', p.destinationName));
  if (p.destinationXml !== undefined)
    out.push(TypedParams.string('destination_xml', p.destinationXml));
  if (p.persistentXml !== undefined)
    out.push(TypedParams.string('persistent_xml', p.persistentXml));
  if (p.bandwidthMiBs !== undefined)
    out.push(TypedParams.ullong('bandwidth', BigInt(p.bandwidthMiBs)));
  for (const disk of p.migrateDisks ?? []) out.push(TypedParams.string('migrate_disks', disk));
  if (p.disksPort !== undefined) out.push(TypedParams.int('disks_port', p.disksPort));
  if (p.listenAddress !== undefined)
    out.push(TypedParams.string('listen_address', p.listenAddress));
  if (p.autoConvergeInitial !== undefined)
    out.push(TypedParams.int('auto_converge.initial', p.autoConvergeInitial));
  if (p.autoConvergeIncrement !== undefined) {
    out.push(TypedParams.int('auto_converge.increment', p.autoConvergeIncrement));
  }
  return out;
}
