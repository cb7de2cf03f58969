import { defineEntity, p } from '@mikro-orm/core';
import { newId, type PublishedImageListId } from './ids.ts';
import { User } from './user.ts';

/**
 * PublishedImageListSchema maps PublishedImageList to `published_image_lists`: a list of this
 * cloud's public images, signed with the controller's endorser certificate and served as is.
 */
export const PublishedImageListSchema = defineEntity({
  name: 'PublishedImageList',
  tableName: 'published_image_lists',
  properties: {
    /** id is the list's `dc:identifier`: it stays the same when the list is published again. */
    id: p
      .uuid()
      .$type<PublishedImageListId>()
      .primary()
      .onCreate(() => newId<PublishedImageListId>()),
    title: p.text(),
    description: p.text().default(''),
    /** version counts publications of the list, from 1. */
    version: p.integer().default(1),
    /** imageIds are the catalog images listed, whose files are served with the list. */
    imageIds: p.json<string[]>(),
    expiresAt: p.datetime(),
    /** signed is the S/MIME message served: the list's JSON with its signature. */
    signed: p.text(),
    publishedBy: () => p.manyToOne(User).ref().nullable().deleteRule('set null'),
    publishedAt: p.datetime(),
  },
});

/** PublishedImageList is an image list this cloud publishes. */
export class PublishedImageList extends PublishedImageListSchema.class {}
PublishedImageListSchema.setClass(PublishedImageList);
