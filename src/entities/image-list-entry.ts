import { defineEntity, p } from '@mikro-orm/core';
import { type ImageListEntryId, newId } from './ids.ts';
import { Image } from './image.ts';
import { ImageListSubscription } from './image-list-subscription.ts';

/**
 * ENTRY_STATES: AVAILABLE (listed, not imported), IMPORTING, IMPORTED, FAILED (the import of
 * this version failed; stateReason says why), EXPIRED (it left the list, or the list expired).
 */
export const ENTRY_STATES = ['AVAILABLE', 'IMPORTING', 'IMPORTED', 'FAILED', 'EXPIRED'] as const;
/** EntryState is one of ENTRY_STATES. */
export type EntryState = (typeof ENTRY_STATES)[number];

/**
 * ImageListEntrySchema maps ImageListEntry to `image_list_entries`: one image of a followed
 * list, as its last valid list described it, and the catalog image imported for it.
 */
export const ImageListEntrySchema = defineEntity({
  name: 'ImageListEntry',
  tableName: 'image_list_entries',
  properties: {
    id: p
      .uuid()
      .$type<ImageListEntryId>()
      .primary()
      .onCreate(() => newId<ImageListEntryId>()),
    subscription: () => p.manyToOne(ImageListSubscription).ref().deleteRule('cascade'),
    /** identifier is the image's `dc:identifier`, the same across its versions. */
    identifier: p.string().length(64),
    title: p.text(),
    description: p.text().default(''),
    version: p.string().length(64),
    uri: p.text(),
    sha512: p.string().length(128),
    sizeBytes: p.bigint('bigint'),
    hypervisor: p.string().length(64).default(''),
    arch: p.string().length(64).default(''),
    os: p.string().length(64).default(''),
    osName: p.string().length(64).default(''),
    osVersion: p.string().length(64).default(''),
    state: p.enum(ENTRY_STATES).default('AVAILABLE'),
    stateReason: p.text().default(''),
    /** image is the catalog image of the version imported last; null before, or once removed. */
    image: () => p.manyToOne(Image).ref().nullable().deleteRule('set null').index(),
    /** importedVersion is the version `image` holds. */
    importedVersion: p.string().length(64).nullable(),
    /**
     * importing is the image of a version being imported: `image` stays usable until it is
     * AVAILABLE. A failed import deletes it, which empties this.
     */
    importing: () => p.manyToOne(Image).ref().nullable().deleteRule('set null').index(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
  uniques: [
    {
      name: 'image_list_entries_subscription_identifier_unique',
      properties: ['subscription', 'identifier'],
    },
  ],
});

/** ImageListEntry is one image of a followed list. */
export class ImageListEntry extends ImageListEntrySchema.class {}
ImageListEntrySchema.setClass(ImageListEntry);
