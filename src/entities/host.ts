import { defineEntity, p } from '@mikro-orm/core';
import type { HostFacts } from '../drivers/session.ts';
import { type HostId, newId } from './ids.ts';
import { Replica } from './replica.ts';

/**
 * HOST_STATES: ONLINE (reachable, takes VMs), OFFLINE (unreachable), DISABLED (an admin turned
 * it off), MAINTENANCE (reachable, takes no new VMs), EVACUATING (going into maintenance while
 * its running VMs are moved away).
 */
export const HOST_STATES = ['ONLINE', 'OFFLINE', 'DISABLED', 'MAINTENANCE', 'EVACUATING'] as const;
/** HostState is one of HOST_STATES. */
export type HostState = (typeof HOST_STATES)[number];

/**
 * ACCELERATIONS say how the host runs guests: AUTO uses KVM where the host offers it and TCG
 * (QEMU's emulator) elsewhere; an admin forces TCG where /dev/kvm exists but cannot be trusted
 * (nested or paravirtual KVM), or KVM to refuse running slow where it is missing.
 */
export const ACCELERATIONS = ['AUTO', 'KVM', 'TCG'] as const;
/** Acceleration is one of ACCELERATIONS. */
export type Acceleration = (typeof ACCELERATIONS)[number];

/**
 * SealedText is a value sealed by services/secrets/secret-box (`v1:...`): the only form in which
 * host credentials reach the database.
 */
export type SealedText = string & { readonly __brand: 'SealedText' };

/** HostFacts are what the host's driver last reported (see drivers/session.ts). */
export type { HostFacts };

/** HostSchema maps Host to the `hosts` table. */
export const HostSchema = defineEntity({
  name: 'Host',
  tableName: 'hosts',
  properties: {
    id: p
      .uuid()
      .$type<HostId>()
      .primary()
      .onCreate(() => newId<HostId>()),
    name: p.string().length(64).unique(),
    /** uri is the libvirt URI the controller dials, e.g. `qemu+tls://10.0.0.5/system`. */
    uri: p.string().length(1024),
    /** driver is the URI scheme that picks the driver plugin, e.g. `qemu+tls`. */
    driver: p.string().length(32),
    /** credentials are the sealed JSON of the driver's secrets (keys, certificates). */
    credentials: p.text().$type<SealedText>().nullable().hidden(),
    state: p.enum(HOST_STATES).default('OFFLINE').index(),
    enabled: p.boolean().default(true),
    maintenance: p.boolean().default(false),
    lastError: p.text().nullable(),
    facts: p.json<HostFacts>().nullable(),
    /** cpuOvercommit multiplies the host's CPUs the scheduler may hand out. */
    cpuOvercommit: p.double().runtimeType('number').$type<number>().default(1),
    memoryOvercommit: p.double().runtimeType('number').$type<number>().default(1),
    acceleration: p.enum(ACCELERATIONS).default('AUTO'),
    /**
     * sharedStorage names the shared filesystem (NFS, CephFS...) this host mounts at the Kumo
     * pool path, or null for local storage. Hosts naming the same one see the same files:
     * image copies serve them all, and VMs move between them without copying disks.
     */
    sharedStorage: p.string().length(64).nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
    lastSeenAt: p.datetime().nullable(),
    /**
     * replica holds the host's lease: it alone watches the host's events, sweeps and meters its
     * VMs and records its state. Null while no live replica has taken it.
     */
    replica: () => p.manyToOne(Replica).ref().nullable().deleteRule('set null').index(),
  },
});

/** Host is a hypervisor the controller drives, added by its URI and credentials. */
export class Host extends HostSchema.class {}
HostSchema.setClass(Host);
