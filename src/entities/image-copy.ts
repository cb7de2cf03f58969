import { defineEntity, p } from '@mikro-orm/core';
import { Host } from './host.ts';
import { type ImageCopyId, type ImageId, newId } from './ids.ts';

/** IMAGE_COPY_STATES: UPLOADING while bytes go to the host, READY once verified there. */
export const IMAGE_COPY_STATES = ['UPLOADING', 'READY'] as const;
/** ImageCopyState is one of IMAGE_COPY_STATES. */
export type ImageCopyState = (typeof IMAGE_COPY_STATES)[number];

/** ImageCopySchema maps ImageCopy to the `image_copies` table. */
export const ImageCopySchema = defineEntity({
  name: 'ImageCopy',
  tableName: 'image_copies',
  properties: {
    id: p
      .uuid()
      .$type<ImageCopyId>()
      .primary()
      .onCreate(() => newId<ImageCopyId>()),
    /**
     * imageId is the image copied, without a foreign key: a copy that still backs VM disks
     * outlives an image an admin removed by force, until its last VM goes.
     */
    imageId: p.uuid().$type<ImageId>(),
    host: () => p.manyToOne(Host).ref().deleteRule('cascade'),
    /** volume is the volume's name in the host's Kumo pool. */
    volume: p.string().length(128),
    state: p.enum(IMAGE_COPY_STATES).default('UPLOADING'),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
  uniques: [{ name: 'image_copies_host_image_unique', properties: ['host', 'imageId'] }],
  indexes: [{ name: 'image_copies_image_index', properties: ['imageId'] }],
});

/** ImageCopy is an image cached in one host's storage pool, the base of VM disks there. */
export class ImageCopy extends ImageCopySchema.class {}
ImageCopySchema.setClass(ImageCopy);
