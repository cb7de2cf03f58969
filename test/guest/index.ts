// Kumo's test guest: a tiny bootable disk image built from Debian packages (build.ts), and the
// helpers tests use to boot it on the rig. The guest's contract is in README.md.
import { existsSync } from 'node:fs';
import { rig } from '../support/rig.ts';
import { buildGuestImage, type GuestImage } from './build.ts';

export { GUEST_DIR, GUEST_LABEL, type GuestImage } from './build.ts';
export { GuestConsole } from './console.ts';
export { metaDataYaml, type SeedSpec, seedIso } from './seed.ts';

let image: Promise<GuestImage> | undefined;

/**
 * guestImage returns the test guest's disk image, building it on first use (about 6 s cold;
 * later runs find it under GUEST_DIR). One build per process; parallel processes share a lock.
 */
export function guestImage(log?: (line: string) => void): Promise<GuestImage> {
  image ??= buildGuestImage(log).catch((err: unknown) => {
    image = undefined;
    throw err;
  });
  return image;
}

/**
 * guestDomainType is the domain type to boot the guest with: the rig's, except where /dev/kvm
 * is PVM (kvm_pvm, a software "KVM" in some sandboxes). PVM runs SeaBIOS, but an ordinary
 * Linux kernel hangs there right after the boot loader, so the guest runs under TCG instead.
 */
export function guestDomainType(): 'kvm' | 'qemu' {
  const type = rig().domainType;
  return type === 'kvm' && existsSync('/sys/module/kvm_pvm') ? 'qemu' : type;
}
