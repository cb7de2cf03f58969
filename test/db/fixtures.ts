import type { EntityManager } from '../../src/db/database.ts';
import { Host, Image, User, Vm } from '../../src/entities/index.ts';
import { randomMac } from '../../src/services/vms/vm-domain.ts';
import { unique } from './support.ts';

/** makeUser adds a user (not flushed). */
export function makeUser(
  em: EntityManager,
  over: Partial<{ email: string; isAdmin: boolean }> = {},
): User {
  return em.create(User, {
    email: over.email ?? `${unique('user')}@example.com`,
    name: 'Test User',
    passwordHash: '$argon2id$not-a-real-hash',
    isAdmin: over.isAdmin ?? false,
  });
}

/** makeHost adds a host (not flushed). */
export function makeHost(em: EntityManager, name: string = unique('hv')): Host {
  return em.create(Host, { name, uri: `qemu+tls://${name}/system`, driver: 'qemu+tls' });
}

/** makeImage adds an image owned by owner (not flushed). */
export function makeImage(em: EntityManager, owner: User): Image {
  return em.create(Image, { name: unique('img'), owner });
}

/** makeVm adds a VM owned by owner (not flushed). */
export function makeVm(em: EntityManager, owner: User, over: Partial<{ name: string }> = {}): Vm {
  return em.create(Vm, {
    name: over.name ?? unique('vm'),
    owner,
    vcpus: 2,
    maxVcpus: 2,
    memoryBytes: 2n * 1024n ** 3n,
    maxMemoryBytes: 2n * 1024n ** 3n,
    diskBytes: 20n * 1024n ** 3n,
    baseVolume: 'img-test',
    mac: randomMac(),
    domainUuid: crypto.randomUUID(),
  });
}
