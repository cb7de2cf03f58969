import { defineEntity, p } from '@mikro-orm/core';
import { type ImageId, newId } from './ids.ts';
import { User } from './user.ts';

/** IMAGE_STATES: IMPORTING (bytes arriving), AVAILABLE, ERROR (import failed), EXPIRED. */
export const IMAGE_STATES = ['IMPORTING', 'AVAILABLE', 'ERROR', 'EXPIRED'] as const;
/** ImageState is one of IMAGE_STATES. */
export type ImageState = (typeof IMAGE_STATES)[number];

/** IMAGE_FORMATS are the disk formats the image store keeps. */
export const IMAGE_FORMATS = ['qcow2', 'raw'] as const;
/** ImageFormat is one of IMAGE_FORMATS. */
export type ImageFormat = (typeof IMAGE_FORMATS)[number];

/** ImageSchema maps Image to the `images` table. */
export const ImageSchema = defineEntity({
  name: 'Image',
  tableName: 'images',
  properties: {
    id: p
      .uuid()
      .$type<ImageId>()
      .primary()
      .onCreate(() => newId<ImageId>()),
    name: p.string().length(128).index(),
    description: p.text().default(''),
    owner: () => p.manyToOne(User).ref().index(),
    state: p.enum(IMAGE_STATES).default('IMPORTING').index(),
    /** stateReason says why an image is in its state, for people (why it EXPIRED, say). */
    stateReason: p.text().default(''),
    format: p.enum(IMAGE_FORMATS).default('qcow2'),
    /** sizeBytes is the file's size; null until the import has finished. */
    sizeBytes: p.bigint('bigint').nullable(),
    /** virtualSizeBytes is the disk size a guest sees. */
    virtualSizeBytes: p.bigint('bigint').nullable(),
    /** sha512 is the file's hex SHA-512, recorded at import. */
    sha512: p.string().length(128).nullable(),
    public: p.boolean().default(false).index(),
    /** sourceUrl is where an imported image came from (origin and path only); null for uploads. */
    sourceUrl: p.text().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
});

/** Image is a base disk in the controller's image store that VMs are created from. */
export class Image extends ImageSchema.class {}
ImageSchema.setClass(Image);
