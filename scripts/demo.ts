// The foundation's demo: connect to every rig host over TLS and over SSH with Kumo's own
// libvirt client, list each host's facts and domains, and show a lifecycle event arrive live.
import type { DomainLifecycleEvent } from '../src/libvirt/api/events.ts';
import { LibvirtConnection } from '../src/libvirt/connection.ts';
import { domainXml } from '../src/libvirt/xml/domain.ts';
import { loadRig } from '../test/rig/index.ts';

const rig = loadRig();
if (!rig) throw new Error('no rig is up: run scripts/start (or npm run rig -- up)');

const gib = (kib: number) => `${(kib / 1024 / 1024).toFixed(1)} GiB`;
for (const host of rig.hosts) {
  const tls = await LibvirtConnection.open(host.tlsUri);
  const ssh = await LibvirtConnection.open(host.sshUri, {
    ssh: { hostKeys: [host.sshHostKeyFingerprint] },
  });
  const info = await tls.host.info();
  const v = tls.libVersion;
  console.log(
    `${host.name}  ${host.ip}  hostname=${await tls.host.hostname()}  libvirt ${Math.floor(v / 1e6)}.${Math.floor(v / 1e3) % 1000}.${v % 1000}  ` +
      `${info.cpus} CPUs ${info.model}  ${gib(info.memoryKiB)}  (ssh sees ${await ssh.host.hostname()})`,
  );

  const name = `kumo-demo-${host.name}`;
  let dom = await tls.domains.lookupByName(name).catch(() => null);
  if (!dom)
    dom = await tls.domains.define(
      domainXml({ name, type: rig.domainType, memoryMiB: 64, vcpus: 1 }),
    );
  if ((await tls.domains.state(dom)).state !== 'running') {
    const started = new Promise<DomainLifecycleEvent>((resolve) => {
      void ssh.events.onLifecycle(
        (e) => e.domain.name === name && e.event === 'started' && resolve(e),
      );
    });
    await tls.domains.start(dom);
    const e = await started;
    console.log(`  event over ssh: ${e.domain.name} ${e.event}`);
  }
  for (const d of await ssh.domains.list()) {
    const { state } = await ssh.domains.state(d);
    console.log(`  domain ${d.name.padEnd(28)} ${state.padEnd(8)} ${d.uuid}`);
  }
  await Promise.all([tls.close(), ssh.close()]);
}
console.log('\nThe rig stays up. Stop it with: npm run rig -- down');
