import { netnsName } from './config.ts';
import { type ProbeResult, probeSsh, probeTls } from './probes.ts';
import { inNetns } from './processes.ts';
import type { Rig, RigHost } from './state.ts';

/** HostHealth is what `status` reports for one host. */
export interface HostHealth {
  name: string;
  healthy: boolean;
  holder: boolean;
  libvirtd: boolean;
  sshd: boolean;
  /** tls is true when libvirtd accepted the controller's certificate, else why not. */
  tls: ProbeResult;
  /** ssh is true when sshd sent its banner, else why not. */
  ssh: ProbeResult;
}

/** hostHealth checks that host's processes live in its netns and that both services answer. */
export async function hostHealth(rig: Rig, host: RigHost): Promise<HostHealth> {
  const ns = netnsName(host.name);
  const [tls, ssh] = await Promise.all([probeTls(host.ip, rig.pki.clientDir), probeSsh(host.ip)]);
  const health = {
    name: host.name,
    holder: inNetns(host.pids.holder, ns),
    libvirtd: inNetns(host.pids.libvirtd, ns),
    sshd: inNetns(host.pids.sshd, ns),
    tls,
    ssh,
  };
  const healthy = health.holder && health.libvirtd && health.sshd && tls === true && ssh === true;
  return { ...health, healthy };
}

/** rigHealth checks every host of the rig at once. */
export function rigHealth(rig: Rig): Promise<HostHealth[]> {
  return Promise.all(rig.hosts.map((h) => hostHealth(rig, h)));
}
