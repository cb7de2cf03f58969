import { defineEntity, p } from '@mikro-orm/core';
import { Host } from './host.ts';
import { newId, type VmId } from './ids.ts';
import { Image } from './image.ts';
import { User } from './user.ts';

/**
 * VM_STATES is what the controller last knew of a VM's domain: CREATING until its domain
 * first runs; RUNNING, PAUSED, STOPPED and CRASHED as libvirt reports them; MIGRATING while it
 * moves; UNKNOWN while its host cannot be reached; ERROR when its domain vanished.
 */
export const VM_STATES = [
  'CREATING',
  'RUNNING',
  'PAUSED',
  'STOPPED',
  'CRASHED',
  'MIGRATING',
  'UNKNOWN',
  'ERROR',
] as const;
/** VmState is one of VM_STATES. */
export type VmState = (typeof VM_STATES)[number];

/** VmSchema maps Vm to the `vms` table. */
export const VmSchema = defineEntity({
  name: 'Vm',
  tableName: 'vms',
  properties: {
    id: p
      .uuid()
      .$type<VmId>()
      .primary()
      .onCreate(() => newId<VmId>()),
    name: p.string().length(64).index(),
    description: p.text().default(''),
    // Deleting a user or host that VMs still use fails: the service decides, not the FK.
    owner: () => p.manyToOne(User).ref().index(),
    host: () => p.manyToOne(Host).ref().nullable().deleteRule('no action').index(),
    /** image is the catalog image the VM was made from; null once that image was removed. */
    image: () => p.manyToOne(Image).ref().nullable().deleteRule('set null').index(),
    /** baseVolume is the host volume its disk is an overlay of (the cached image). */
    baseVolume: p.string().length(128),
    state: p.enum(VM_STATES).default('CREATING').index(),
    /** stateReason says why the state last changed, for people. */
    stateReason: p.text().default(''),
    vcpus: p.integer(),
    /** maxVcpus is the ceiling vCPUs can grow to while running. */
    maxVcpus: p.integer(),
    memoryBytes: p.bigint('bigint'),
    /** maxMemoryBytes is the ceiling memory can grow to while running. */
    maxMemoryBytes: p.bigint('bigint'),
    diskBytes: p.bigint('bigint'),
    /** mac is the NIC's MAC address, unique among VMs. */
    mac: p.string().length(17).unique(),
    /** hasSeed says a cloud-init seed volume is attached. */
    hasSeed: p.boolean().default(false),
    /** ipAddress is the guest's address, when it is known. */
    ipAddress: p.string().length(64).nullable(),
    /** domainUuid is the libvirt domain's UUID; events name domains by it. */
    domainUuid: p.uuid().unique(),
    /**
     * overuseLimit is the consumption limit its owner crossed, under an overuse policy that
     * pauses running VMs; suspendAt is when this one is (or was) paused for it.
     */
    overuseLimit: p.string().length(32).nullable(),
    suspendAt: p.datetime().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
});

/** Vm is a virtual machine a user asked for: its size, its image, and where it runs. */
export class Vm extends VmSchema.class {}
VmSchema.setClass(Vm);
