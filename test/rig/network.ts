import { gatewayIp, netnsName } from './config.ts';
import { netnsInode, run } from './processes.ts';

function linkExists(name: string): Promise<boolean> {
  return run('ip', ['link', 'show', 'dev', name]).then(
    () => true,
    () => false,
  );
}

/** createBridge makes the rig's bridge in the root namespace, holding the gateway address. */
export async function createBridge(bridge: string, subnet: string): Promise<void> {
  if (!(await linkExists(bridge))) {
    await run('ip', ['link', 'add', bridge, 'type', 'bridge']);
  }
  await run('ip', ['addr', 'replace', `${gatewayIp(subnet)}/24`, 'dev', bridge]);
  await run('ip', ['link', 'set', bridge, 'up']);
}

/** deleteBridge removes the rig's bridge if it exists. */
export async function deleteBridge(bridge: string): Promise<void> {
  if (await linkExists(bridge)) await run('ip', ['link', 'del', bridge]);
}

/**
 * createHostNetwork makes host's netns with lo up and an eth0 at ip, the other end of its veth
 * pair enslaved to the bridge. Host-to-host traffic (migration streams, NBD) crosses the bridge.
 */
export async function createHostNetwork(bridge: string, host: string, ip: string): Promise<void> {
  const ns = netnsName(host);
  // Interface names are limited to 15 characters: "kumo-hv200-br" is 13.
  const outside = `kumo-${host}-br`;
  const inside = `kumo-${host}-ns`;
  await run('ip', ['netns', 'add', ns]);
  await run('ip', ['link', 'add', outside, 'type', 'veth', 'peer', 'name', inside]);
  await run('ip', ['link', 'set', inside, 'netns', ns]);
  await run('ip', ['link', 'set', outside, 'master', bridge, 'up']);
  await run('ip', ['-n', ns, 'link', 'set', inside, 'name', 'eth0']);
  await run('ip', ['-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
  await run('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
  await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
}

/**
 * deleteHostNetwork removes host's veth pair and netns. The veth goes first: deleting one end
 * removes both at once, whereas `ip netns del` frees the namespace (and the veth in it) later,
 * in the kernel's own time, and a rebuild could then find the old veth still there. Call it
 * only once no process is left inside (processes keep a namespace alive after `ip netns del`).
 */
export async function deleteHostNetwork(host: string): Promise<void> {
  const outside = `kumo-${host}-br`;
  if (await linkExists(outside)) await run('ip', ['link', 'del', outside]);
  const ns = netnsName(host);
  if (netnsInode(ns) !== null) await run('ip', ['netns', 'del', ns]);
}

/** rigNamespaceHosts lists the host names of existing `kumo-hvK` namespaces, state file or not. */
export async function rigNamespaceHosts(): Promise<string[]> {
  const out = await run('ip', ['netns', 'list']);
  return out
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => /^kumo-hv\d+$/.test(n))
    .map((n) => n.slice('kumo-'.length));
}
