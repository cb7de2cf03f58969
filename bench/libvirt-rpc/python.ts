import { execFileSync, spawnSync } from 'node:child_process';

/** PYTHON is Debian's interpreter, which python3-libvirt installs into (not a pyenv one on PATH). */
export const PYTHON = '/usr/bin/python3';

/** ensurePythonLibvirt installs python3-libvirt (libvirt's C client bindings) when missing. */
export function ensurePythonLibvirt(): void {
  if (spawnSync(PYTHON, ['-c', 'import libvirt']).status === 0) return;
  console.log('installing python3-libvirt for the C-client baseline');
  execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'python3-libvirt'], {
    stdio: 'inherit',
  });
}
