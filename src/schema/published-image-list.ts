import { z } from 'zod';
import type { ImageId, PublishedImageListId } from '../entities/ids.ts';
import { PublishedImageList } from '../entities/published-image-list.ts';
import { audited } from './audited.ts';
import { builder } from './builder.ts';
import { actorOf } from './context.ts';
import { ImageType } from './image.ts';
import { RemovedPayload } from './image-list.ts';
import { UserType } from './user.ts';
import { UserError, type UserErrorShape } from './user-errors.ts';

/** PublishedImageListType is a signed list of this cloud's public images that it serves. */
export const PublishedImageListType = builder.node(PublishedImageList, {
  name: 'PublishedImageList',
  id: { resolve: (l) => l.id },
  authScopes: { admin: true },
  loadOne: (id, ctx) =>
    ctx.services.em.findOne(PublishedImageList, { id: id as PublishedImageListId }),
  fields: (t) => ({
    identifier: t.string({
      description: "The list's dc:identifier: the same in every version.",
      resolve: (l) => l.id,
    }),
    url: t.string({
      description: 'Where the signed list is served, to anyone: subscribe to this URL.',
      resolve: (l, _a, ctx) => ctx.services.listPublisher.url(l),
    }),
    title: t.exposeString('title'),
    description: t.exposeString('description'),
    version: t.exposeInt('version', { description: 'Counts publications, from 1.' }),
    images: t.field({
      type: [ImageType],
      description: 'The images listed that still exist.',
      resolve: (l, _a, ctx) => ctx.services.listPublisher.images(l),
    }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime' }),
    publishedAt: t.expose('publishedAt', { type: 'DateTime' }),
    publishedBy: t.field({
      type: UserType,
      nullable: true,
      resolve: (l) => l.publishedBy?.load() ?? null,
    }),
    signed: t.exposeString('signed', {
      description: 'The S/MIME message served: the list JSON and its detached signature.',
    }),
  }),
});

builder.queryFields((t) => ({
  publishedImageLists: t.field({
    type: [PublishedImageListType],
    authScopes: { admin: true },
    description: 'The image lists this cloud publishes, by title. Admins only.',
    resolve: (_r, _a, ctx) => ctx.services.listPublisher.lists(actorOf(ctx)),
  }),
}));

const PublishedPayload = builder
  .objectRef<{ list: PublishedImageList | null; userErrors: UserErrorShape[] }>(
    'PublishedImageListPayload',
  )
  .implement({
    fields: (t) => ({
      list: t.field({ type: PublishedImageListType, nullable: true, resolve: (p) => p.list }),
      userErrors: t.field({ type: [UserError], resolve: (p) => p.userErrors }),
    }),
  });

const PublishInput = builder.inputType('ImageListPublishInput', {
  fields: (t) => ({
    list: t.globalID({
      for: PublishedImageListType,
      required: false,
      description:
        'A list published before, to publish a new version of (same identifier and URL).',
    }),
    images: t.globalIDList({
      for: ImageType,
      description: 'Public, available images, in the order listed.',
    }),
    title: t.string({ validate: z.string().max(256) }),
    description: t.string({ required: false, defaultValue: '' }),
    expiresAt: t.field({
      type: 'DateTime',
      description: 'When subscribers stop trusting this version (at most 366 days ahead).',
    }),
  }),
});

const PublishedIdInput = builder.inputType('PublishedImageListIdInput', {
  fields: (t) => ({ id: t.globalID({ for: PublishedImageListType }) }),
});

builder.mutationFields((t) => ({
  imageListPublish: t.field({
    type: PublishedPayload,
    authScopes: { admin: true },
    description:
      "Sign a list of this cloud's public images with the controller's endorser certificate and serve it at its URL, for other clouds to subscribe to. Admins only.",
    args: { input: t.arg({ type: PublishInput }) },
    resolve: async (_r, { input }, ctx) => {
      const out = await audited(
        ctx,
        'imageListPublish',
        { type: 'IMAGE_LIST', idOf: (l) => l.id },
        () =>
          ctx.services.listPublisher.publish(actorOf(ctx), {
            list: input.list?.id as PublishedImageListId | undefined,
            images: input.images.map((i) => i.id as ImageId),
            title: input.title,
            description: input.description ?? '',
            expiresAt: input.expiresAt,
          }),
      );
      return { list: out.result, userErrors: out.userErrors };
    },
  }),
  imageListUnpublish: t.field({
    type: RemovedPayload,
    authScopes: { admin: true },
    description:
      'Stop serving a published list and its files. Subscribers keep its images until the version they hold expires.',
    args: { input: t.arg({ type: PublishedIdInput }) },
    resolve: async (_r, { input }, ctx) => {
      const id = input.id.id as PublishedImageListId;
      const out = await audited(ctx, 'imageListUnpublish', { type: 'IMAGE_LIST', id }, () =>
        ctx.services.listPublisher.unpublish(actorOf(ctx), id),
      );
      return {
        removedId: out.userErrors.length === 0 ? input.id : null,
        userErrors: out.userErrors,
      };
    },
  }),
}));
