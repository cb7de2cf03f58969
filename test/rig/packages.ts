import { ensureDebianPackages } from '../support/debian.ts';
import { run } from './processes.ts';

/**
 * RIG_PACKAGES are the Debian packages the rig runs on. libvirt-daemon-system is left out on
 * purpose: it pulls in polkit, iptables and init scripts, and the rig writes its own configs.
 */
export const RIG_PACKAGES = [
  'libvirt-daemon',
  'libvirt-daemon-driver-qemu',
  'libvirt-clients', // virsh for people; virt-pki-query-dn, which test/pki checks src/pki against
  'qemu-system-x86',
  'qemu-utils',
  'openssh-server',
  'openssh-client',
  'iproute2',
  'netcat-openbsd', // the nc fallback of libvirt's ssh transport
  'tini', // reaps each host's QEMU processes (see host.ts)
  'iptables', // libvirt 9 writes firewall rules even for isolated guest networks (in the host's netns)
] as const;

async function ensureGroup(name: string): Promise<void> {
  try {
    await run('getent', ['group', name]);
  } catch {
    await run('groupadd', ['--system', name]);
  }
}

/**
 * ensureQemuUser creates Debian's `libvirt-qemu` user. The QEMU driver resolves its compiled-in
 * default user before it reads qemu.conf, so libvirtd refuses to start ("Failed to parse user
 * 'libvirt-qemu'") even though the rig's qemu.conf runs QEMU as root. libvirt-daemon-system
 * would create it; the rig does not install that package.
 */
async function ensureQemuUser(): Promise<void> {
  await ensureGroup('kvm');
  await ensureGroup('libvirt-qemu');
  try {
    await run('getent', ['passwd', 'libvirt-qemu']);
  } catch {
    await run('useradd', [
      '--system',
      '--gid',
      'kvm',
      '--no-create-home',
      '--home-dir',
      '/var/lib/libvirt',
      '--shell',
      '/usr/sbin/nologin',
      'libvirt-qemu',
    ]);
  }
}

/** rigInstall installs the rig's Debian packages if any is missing; a fast no-op otherwise. */
export async function rigInstall(log: (line: string) => void = () => {}): Promise<void> {
  await ensureDebianPackages(RIG_PACKAGES, log);
  await ensureQemuUser();
}
