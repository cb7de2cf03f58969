import { defineEntity, p } from '@mikro-orm/core';
import { Host } from './host.ts';
import { newId, type VmId } from './ids.ts';
import { Image } from './image.ts';
import { User } from './user.ts';

/** VM_STATES is what the controller last knew of a VM's domain. */
export const VM_STATES = ['DEFINED', 'RUNNING', 'PAUSED', 'STOPPED', 'ERROR', 'MIGRATING'] as const;
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
    // Deleting a user, host or image that VMs still use fails: the service decides, not the FK.
    owner: () => p.manyToOne(User).ref().index(),
    host: () => p.manyToOne(Host).ref().nullable().deleteRule('no action').index(),
    image: () => p.manyToOne(Image).ref().nullable().deleteRule('no action').index(),
    state: p.enum(VM_STATES).default('DEFINED').index(),
    vcpus: p.integer(),
    memoryBytes: p.bigint('bigint'),
    diskBytes: p.bigint('bigint'),
    /** domainUuid is the libvirt domain's UUID; events name domains by it. */
    domainUuid: p.uuid().nullable().unique(),
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
