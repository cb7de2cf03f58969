import { defineEntity, p } from '@mikro-orm/core';
import { newId, type SnapshotId } from './ids.ts';
import { Vm } from './vm.ts';

/** SnapshotSchema maps Snapshot to the `snapshots` table. */
export const SnapshotSchema = defineEntity({
  name: 'Snapshot',
  tableName: 'snapshots',
  properties: {
    id: p
      .uuid()
      .$type<SnapshotId>()
      .primary()
      .onCreate(() => newId<SnapshotId>()),
    // No index of its own: the unique (vm, name) index leads with it.
    vm: () => p.manyToOne(Vm).ref().deleteRule('cascade'),
    /** name is the libvirt snapshot's name, unique per VM. */
    name: p.string().length(64),
    description: p.text().default(''),
    /** withMemory says the snapshot holds the running guest's memory too (it was taken live). */
    withMemory: p.boolean().default(false),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
  uniques: [{ name: 'snapshots_vm_name_unique', properties: ['vm', 'name'] }],
});

/** Snapshot is a named snapshot of a VM. */
export class Snapshot extends SnapshotSchema.class {}
SnapshotSchema.setClass(Snapshot);
