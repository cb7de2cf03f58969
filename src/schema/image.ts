import { z } from 'zod';
import type { ImageId, UserId } from '../entities/ids.ts';
import { IMAGE_FORMATS, IMAGE_STATES, Image } from '../entities/image.ts';
import type { Operation } from '../entities/operation.ts';
import { ServiceError } from '../services/errors.ts';
import { audited } from './audited.ts';
import { builder } from './builder.ts';
import { connectionOf, decodeCursor, pageSize } from './connection.ts';
import { actorOf } from './context.ts';
import { OperationType } from './operation.ts';
import { RoleEnum, revealOwner, SharePayload, ShareType } from './share.ts';
import { UploadScalar } from './upload.ts';
import { UserType } from './user.ts';
import { UserError, type UserErrorShape } from './user-errors.ts';

const ImageStateEnum = builder.enumType('ImageState', {
  description:
    'IMPORTING while its bytes arrive; AVAILABLE once checked; ERROR and EXPIRED are kept for images that failed or aged out.',
  values: IMAGE_STATES,
});

const ImageFormatEnum = builder.enumType('ImageFormat', { values: IMAGE_FORMATS });

/** ImageType is a base disk VMs are made from: seen by those with a role on it, and by all when public. */
export const ImageType = builder.node(Image, {
  name: 'Image',
  id: { resolve: (i) => i.id },
  authScopes: async (image, ctx) =>
    ctx.actor !== null &&
    (image.public ||
      ctx.revealed.has(image.id) ||
      (await ctx.services.permissions.can(ctx.actor, { type: 'IMAGE', id: image.id }, 'view'))),
  loadOne: (id, ctx) => ctx.services.em.findOne(Image, { id: id as ImageId }),
  fields: (t) => ({
    name: t.exposeString('name'),
    description: t.exposeString('description'),
    owner: t.field({
      type: UserType,
      resolve: async (i, _a, ctx) => revealOwner(ctx, await i.owner.loadOrFail()),
    }),
    state: t.field({ type: ImageStateEnum, resolve: (i) => i.state }),
    stateReason: t.string({
      description: 'Why the image is in its state, when that needs saying (why it EXPIRED, say).',
      resolve: (i) => i.stateReason,
    }),
    format: t.field({ type: ImageFormatEnum, resolve: (i) => i.format }),
    sizeBytes: t.field({
      type: 'BigInt',
      nullable: true,
      description: "The file's size in the store.",
      resolve: (i) => i.sizeBytes ?? null,
    }),
    virtualSizeBytes: t.field({
      type: 'BigInt',
      nullable: true,
      description: 'The disk size a guest sees (the smallest disk a VM made from it can have).',
      resolve: (i) => i.virtualSizeBytes ?? null,
    }),
    sha512: t.exposeString('sha512', { nullable: true }),
    public: t.exposeBoolean('public'),
    sourceUrl: t.exposeString('sourceUrl', { nullable: true }),
    myRole: t.field({
      type: RoleEnum,
      nullable: true,
      description: 'Your role on it (null: none, as for a public image of someone else).',
      resolve: (i, _a, ctx) =>
        ctx.services.permissions.roleOf(actorOf(ctx), { type: 'IMAGE', id: i.id }),
    }),
    shares: t.field({
      type: [ShareType],
      description: 'Who has which role on it (owners and admins only).',
      resolve: (i, _a, ctx) => ctx.services.images.shares(actorOf(ctx), i.id),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

const ImageFilterInput = builder.inputType('ImageFilter', {
  fields: (t) => ({
    text: t.string({
      required: false,
      validate: z.string().max(128),
      description: 'Matches name or description.',
    }),
    owner: t.globalID({ required: false, for: UserType }),
    state: t.field({ type: ImageStateEnum, required: false }),
  }),
});

builder.queryFields((t) => ({
  images: t.connection({
    type: ImageType,
    authScopes: { signedIn: true },
    description: 'Images you have a role on, and public images (every image, for admins), by name.',
    args: { filter: t.arg({ type: ImageFilterInput, required: false }) },
    resolve: async (_r, args, ctx) => {
      const after = decodeCursor(args.after)?.split('\n');
      const f = args.filter;
      const { images, hasNextPage } = await ctx.services.images.list(actorOf(ctx), {
        first: pageSize(args),
        ...(after?.length === 2
          ? { after: { name: after[0] as string, id: after[1] as ImageId } }
          : {}),
        filter: {
          ...(f?.text ? { text: f.text } : {}),
          ...(f?.owner ? { owner: f.owner.id as UserId } : {}),
          ...(f?.state ? { state: f.state } : {}),
        },
      });
      return connectionOf(images, (i) => `${i.name}\n${i.id}`, hasNextPage);
    },
  }),
}));

const ImagePayload = builder
  .objectRef<{ image: Image | null; userErrors: UserErrorShape[] }>('ImagePayload')
  .implement({
    fields: (t) => ({
      image: t.field({ type: ImageType, nullable: true, resolve: (p) => p.image }),
      userErrors: t.field({ type: [UserError], resolve: (p) => p.userErrors }),
    }),
  });

/** ImageImportPayload answers the mutations that make an image in the background. */
export const ImageImportPayload = builder
  .objectRef<{
    image: Image | null;
    operation: Operation | null;
    userErrors: UserErrorShape[];
  }>('ImageImportPayload')
  .implement({
    fields: (t) => ({
      image: t.field({ type: ImageType, nullable: true, resolve: (p) => p.image }),
      operation: t.field({
        type: OperationType,
        nullable: true,
        description: 'The download: watch it with operationUpdated, stop it with operationCancel.',
        resolve: (p) => p.operation,
      }),
      userErrors: t.field({ type: [UserError], resolve: (p) => p.userErrors }),
    }),
  });

const ImageRemovePayload = builder
  .objectRef<{ removedImageId: string | null; userErrors: UserErrorShape[] }>('ImageRemovePayload')
  .implement({
    fields: (t) => ({
      removedImageId: t.globalID({
        nullable: true,
        resolve: (p) => (p.removedImageId ? { type: 'Image', id: p.removedImageId } : null),
      }),
      userErrors: t.field({ type: [UserError], resolve: (p) => p.userErrors }),
    }),
  });

const sha512Field = z.string().max(128);

const ImageImportInput = builder.inputType('ImageImportInput', {
  fields: (t) => ({
    url: t.string({ validate: z.string().max(4096), description: 'An http or https URL.' }),
    name: t.string({ validate: z.string().max(128) }),
    description: t.string({ required: false, validate: z.string().max(4096) }),
    sha512: t.string({
      required: false,
      validate: sha512Field,
      description: 'The expected SHA-512 (hex); the import fails if the bytes differ.',
    }),
  }),
});

const ImageUploadInput = builder.inputType('ImageUploadInput', {
  fields: (t) => ({
    file: t.field({
      type: UploadScalar,
      description: 'The image file, sent as a GraphQL multipart request.',
    }),
    name: t.string({ validate: z.string().max(128) }),
    description: t.string({ required: false, validate: z.string().max(4096) }),
    sha512: t.string({ required: false, validate: sha512Field }),
  }),
});

const ImageUpdateInput = builder.inputType('ImageUpdateInput', {
  fields: (t) => ({
    id: t.globalID({ for: ImageType }),
    name: t.string({ required: false, validate: z.string().max(128) }),
    description: t.string({ required: false, validate: z.string().max(4096) }),
    public: t.boolean({ required: false, description: 'Admins only.' }),
  }),
});

const ImageRemoveInput = builder.inputType('ImageRemoveInput', {
  fields: (t) => ({
    id: t.globalID({ for: ImageType }),
    force: t.boolean({
      required: false,
      defaultValue: false,
      description:
        'Admins only: remove it although VMs use it as their base (their copies on hosts stay until they go).',
    }),
  }),
});

const ImageShareInput = builder.inputType('ImageShareInput', {
  fields: (t) => ({
    id: t.globalID({ for: ImageType }),
    email: t.string({ validate: z.string().max(320), description: 'The user to share with.' }),
    role: t.field({ type: RoleEnum }),
  }),
});

const ImageUnshareInput = builder.inputType('ImageUnshareInput', {
  fields: (t) => ({
    id: t.globalID({ for: ImageType }),
    email: t.string({ validate: z.string().max(320) }),
  }),
});

builder.mutationFields((t) => ({
  imageImport: t.field({
    type: ImageImportPayload,
    authScopes: { signedIn: true },
    description:
      'Import an image from an http(s) URL: it is IMPORTING until the returned operation succeeds.',
    args: { input: t.arg({ type: ImageImportInput }) },
    resolve: async (_r, { input }, ctx) => {
      const out = await audited(
        ctx,
        'imageImport',
        { type: 'IMAGE', idOf: (r: { image: Image }) => r.image.id },
        () =>
          ctx.services.images.import(actorOf(ctx), {
            url: input.url,
            name: input.name,
            ...(input.description != null ? { description: input.description } : {}),
            ...(input.sha512 ? { sha512: input.sha512 } : {}),
          }),
      );
      return {
        image: out.result?.image ?? null,
        operation: out.result?.operation ?? null,
        userErrors: out.userErrors,
      };
    },
  }),
  imageUpload: t.field({
    type: ImagePayload,
    authScopes: { signedIn: true },
    description:
      'Upload an image file (GraphQL multipart request); it is AVAILABLE when this returns.',
    args: { input: t.arg({ type: ImageUploadInput }) },
    resolve: async (_r, { input }, ctx) => {
      const out = await audited(
        ctx,
        'imageUpload',
        { type: 'IMAGE', idOf: (i: Image) => i.id },
        async () => {
          const file = ctx.request.uploads.take(input.file);
          if (!file)
            throw new ServiceError(
              'INVALID',
              'no file came with the request for this variable',
              'input.file',
            );
          return ctx.services.images.upload(actorOf(ctx), {
            file,
            name: input.name,
            ...(input.description != null ? { description: input.description } : {}),
            ...(input.sha512 ? { sha512: input.sha512 } : {}),
          });
        },
      );
      return { image: out.result, userErrors: out.userErrors };
    },
  }),
  imageUpdate: t.field({
    type: ImagePayload,
    authScopes: { signedIn: true },
    args: { input: t.arg({ type: ImageUpdateInput }) },
    resolve: async (_r, { input }, ctx) => {
      const id = input.id.id as ImageId;
      const out = await audited(ctx, 'imageUpdate', { type: 'IMAGE', id }, () =>
        ctx.services.images.update(actorOf(ctx), id, {
          ...(input.name != null ? { name: input.name } : {}),
          ...(input.description != null ? { description: input.description } : {}),
          ...(input.public != null ? { public: input.public } : {}),
        }),
      );
      return { image: out.result, userErrors: out.userErrors };
    },
  }),
  imageRemove: t.field({
    type: ImageRemovePayload,
    authScopes: { signedIn: true },
    args: { input: t.arg({ type: ImageRemoveInput }) },
    resolve: async (_r, { input }, ctx) => {
      const id = input.id.id as ImageId;
      const out = await audited(ctx, 'imageRemove', { type: 'IMAGE', id }, () =>
        ctx.services.images.remove(actorOf(ctx), id, input.force ?? false),
      );
      return {
        removedImageId: out.userErrors.length === 0 ? id : null,
        userErrors: out.userErrors,
      };
    },
  }),
  imageShare: t.field({
    type: SharePayload,
    authScopes: { signedIn: true },
    description: 'Give a user a role on an image (or change it). Owners and admins.',
    args: { input: t.arg({ type: ImageShareInput }) },
    resolve: async (_r, { input }, ctx) => {
      const id = input.id.id as ImageId;
      const out = await audited(ctx, 'imageShare', { type: 'IMAGE', id }, async () => {
        const images = ctx.services.images;
        const user = await ctx.services.users.idByEmail(input.email);
        await images.share(actorOf(ctx), id, user, input.role);
        return images.shares(actorOf(ctx), id);
      });
      return { shares: out.result, userErrors: out.userErrors };
    },
  }),
  imageUnshare: t.field({
    type: SharePayload,
    authScopes: { signedIn: true },
    description: "Take a user's role on an image away. An image always keeps an owner.",
    args: { input: t.arg({ type: ImageUnshareInput }) },
    resolve: async (_r, { input }, ctx) => {
      const id = input.id.id as ImageId;
      const out = await audited(ctx, 'imageUnshare', { type: 'IMAGE', id }, async () => {
        const images = ctx.services.images;
        const user = await ctx.services.users.idByEmail(input.email);
        await images.unshare(actorOf(ctx), id, user);
        return images.shares(actorOf(ctx), id);
      });
      return { shares: out.result, userErrors: out.userErrors };
    },
  }),
}));
