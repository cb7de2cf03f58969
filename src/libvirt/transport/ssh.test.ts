import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { helperCommand, shQuote } from './ssh.ts';

describe('helperCommand', () => {
  it('quotes hostile values so the remote shell sees them as single words', () => {
    const evil = `qemu:///system'; touch /tmp/pwned; echo '$(id)`;
    const cmd = helperCommand({ proxy: 'native', remoteName: evil, socket: '/s', netcat: 'nc' });
    // Run the outer layer the way sshd's login shell would, but print instead of exec.
    const script = cmd.replace(/^sh -c /, '');
    const inner = execFileSync('sh', ['-c', `printf %s ${script}`]).toString();
    expect(inner).toBe(`exec virt-ssh-helper ${shQuote(evil)}`);
  });

  it('falls back to netcat on the daemon socket in auto mode', () => {
    const cmd = helperCommand({
      proxy: 'auto',
      remoteName: 'qemu:///system',
      socket: '/run/x sock',
      netcat: 'nc',
    });
    expect(cmd).toContain('virt-ssh-helper');
    expect(cmd).toContain("-U '\\''/run/x sock'\\''");
  });
});
