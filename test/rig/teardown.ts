import { rmSync } from 'node:fs';
import { netnsName, type RigConfig } from './config.ts';
import { deleteBridge, deleteHostNetwork, rigNamespaceHosts } from './network.ts';
import { netnsPids, terminate } from './processes.ts';
import { hostPaths, type Rig, readPidFile, stateFile } from './state.ts';

/**
 * stopHost stops everything inside host's netns, in order: the daemons the rig started, then
 * whatever else is left (QEMU processes libvirtd started, tini, ssh sessions), then the
 * holder; then removes the netns and its veth. Nothing outside the netns is signalled.
 */
async function stopHost(rigDir: string, host: string, holderPid: number): Promise<void> {
  const ns = netnsName(host);
  const paths = hostPaths(rigDir, host);
  await terminate([readPidFile(paths.libvirtdPid), readPidFile(paths.sshdPid)], ns);
  // A few rounds, in case something was starting (an ssh login) while we stopped the rest.
  for (let round = 0; round < 3; round++) {
    const rest = (await netnsPids(ns)).filter((p) => p !== holderPid);
    if (rest.length === 0) break;
    await terminate(rest, ns);
  }
  await terminate([holderPid], ns);
  const left = await netnsPids(ns);
  if (left.length > 0) throw new Error(`processes ${left.join(' ')} are still in ${ns}`);
  await deleteHostNetwork(host);
}

/**
 * teardown removes a rig: the hosts its state file records plus any other `kumo-hvK` namespace
 * (left by a rig whose state file is gone), the bridge, and the state file itself.
 */
export async function teardown(cfg: RigConfig, rig: Rig | null): Promise<void> {
  const holders = new Map<string, number>();
  for (const h of rig?.hosts ?? []) holders.set(h.name, h.pids.holder);
  for (const name of await rigNamespaceHosts()) if (!holders.has(name)) holders.set(name, 0);
  await Promise.all([...holders].map(([name, holder]) => stopHost(cfg.dir, name, holder)));
  await deleteBridge(rig?.bridge ?? cfg.bridge);
  rmSync(stateFile(cfg.dir), { force: true });
}
