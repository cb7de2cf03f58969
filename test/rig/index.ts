/**
 * The Kumo test rig: N real libvirtd + QEMU/KVM hypervisor hosts on one machine, each in its
 * own network, mount and UTS namespaces, reachable from the root namespace over TLS and SSH.
 * See test/rig/README.md.
 */
export {
  type HostRef,
  holdHostForFaults,
  pauseLibvirtd,
  resumeLibvirtd,
  setHostLink,
  startLibvirtd,
  stopLibvirtd,
} from './faults.ts';
export type { HostHealth } from './health.ts';
export { rigInstall } from './packages.ts';
export { rigAcquire, rigDown, rigRelease, rigStatus, rigUp } from './rig.ts';
export { loadRig, type Rig, type RigHost } from './state.ts';
