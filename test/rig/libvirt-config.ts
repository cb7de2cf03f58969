import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { libvirtdTlsLines } from '../../src/pki/libvirtd-conf.ts';
import { TLS_PORT } from './config.ts';

/** LibvirtdOptions are the per-host values in libvirtd.conf. */
export interface LibvirtdOptions {
  readonly ip: string;
  readonly uuid: string;
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
  /** allowedDn is the only client DN libvirtd accepts over TLS. */
  readonly allowedDn: string;
}

// libvirtd.conf and qemu.conf hold only what the rig changes: every other key keeps libvirt's
// built-in default, which is what Debian's fully commented-out files amount to.
function libvirtdConf(o: LibvirtdOptions): string {
  // The same TLS lines `scripts/pki.ts server` prints for a real host.
  const tls = libvirtdTlsLines({
    caFile: o.caCert,
    certFile: o.serverCert,
    keyFile: o.serverKey,
    allowedDns: [o.allowedDn],
  });
  return `# Written by the Kumo test rig.
${tls.join('\n')}
listen_tcp = 0
listen_addr = "${o.ip}"
tls_port = "${TLS_PORT}"
auth_tls = "none"
# There is no polkitd here, and Debian's default unix auth is polkit. The unix socket lives in
# the host's private /run, reachable only from inside the host (virt-ssh-helper over ssh).
auth_unix_rw = "none"
auth_unix_ro = "none"
host_uuid = "${o.uuid}"
# The defaults, written out because keepalive tests depend on them.
keepalive_interval = 5
keepalive_count = 5
log_outputs = "3:stderr"
`;
}

// QEMU runs as root with no security driver: no libvirt-qemu ownership games on this machine.
// stdio_handler "file" writes QEMU's log straight to /var/log/libvirt/qemu, so no virtlogd.
// cgroup_controllers is empty: hosts share the machine's cgroup tree, and a domain migrating
// between two hosts exists on both at once under the same name.
const QEMU_CONF = `# Written by the Kumo test rig.
user = "root"
group = "root"
dynamic_ownership = 0
security_driver = "none"
stdio_handler = "file"
cgroup_controllers = [ ]
`;

/**
 * writeLibvirtConfig fills a host's /etc/libvirt (bind-mounted over the real one): the client
 * configs copied from the system, libvirtd.conf and qemu.conf written by the rig.
 */
export async function writeLibvirtConfig(etcDir: string, opts: LibvirtdOptions): Promise<void> {
  await mkdir(etcDir, { recursive: true });
  for (const name of ['libvirt.conf', 'libvirt-admin.conf']) {
    await copyFile(path.join('/etc/libvirt', name), path.join(etcDir, name)).catch(() => {});
  }
  await writeFile(path.join(etcDir, 'libvirtd.conf'), libvirtdConf(opts));
  await writeFile(path.join(etcDir, 'qemu.conf'), QEMU_CONF);
}
