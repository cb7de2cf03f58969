import { z } from 'zod';
import { Endorser } from '../entities/endorser.ts';
import type { EndorserId, ImageListEntryId, ImageListSubscriptionId } from '../entities/ids.ts';
import { ENTRY_STATES, ImageListEntry } from '../entities/image-list-entry.ts';
import { ImageListSubscription, SUBSCRIPTION_STATES } from '../entities/image-list-subscription.ts';
import type { Operation } from '../entities/operation.ts';
import {
  IMAGE_LIST_EVENT_KINDS,
  type ImageListEvent,
} from '../services/image-lists/list-events.ts';
import { audited } from './audited.ts';
import { builder } from './builder.ts';
import { actorOf } from './context.ts';
import { ImageType } from './image.ts';
import { OperationType } from './operation.ts';
import { UserError, type UserErrorShape } from './user-errors.ts';

const SubscriptionStateEnum = builder.enumType('ImageListSubscriptionState', {
  values: SUBSCRIPTION_STATES,
  description:
    'PENDING until the list was first verified; VALID while the last list fetched was signed by a trusted endorser and current; REJECTED when it failed a check (lastError says which; its images stay as the last valid list left them); EXPIRED once the list itself expired (its images expire with it).',
});

const EntryStateEnum = builder.enumType('ImageListEntryState', {
  values: ENTRY_STATES,
  description:
    'AVAILABLE: listed, not imported (or a newer version not imported yet); IMPORTING; IMPORTED; FAILED: the import of the listed version failed (stateReason says why); EXPIRED: it left the list, or the list expired.',
});

const EventKindEnum = builder.enumType('ImageListEventKind', { values: IMAGE_LIST_EVENT_KINDS });

/** EndorserType is a trusted signer of image lists. */
export const EndorserType = builder.node(Endorser, {
  name: 'Endorser',
  id: { resolve: (e) => e.id },
  authScopes: { admin: true },
  loadOne: (id, ctx) => ctx.services.em.findOne(Endorser, { id: id as EndorserId }),
  fields: (t) => ({
    dn: t.exposeString('dn', { description: 'The DN of the certificate that signs lists.' }),
    caDn: t.exposeString('caDn', {
      description: 'The DN of the CA that certificate chains up to.',
    }),
    caCertificate: t.exposeString('caCertificate', { description: 'That CA, in PEM.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

/** ImageListEntryType is one image of a followed list. */
export const ImageListEntryType = builder.node(ImageListEntry, {
  name: 'ImageListEntry',
  id: { resolve: (e) => e.id },
  authScopes: { admin: true },
  loadOne: (id, ctx) => ctx.services.em.findOne(ImageListEntry, { id: id as ImageListEntryId }),
  fields: (t) => ({
    identifier: t.exposeString('identifier', {
      description: "The image's dc:identifier, the same across its versions.",
    }),
    title: t.exposeString('title'),
    description: t.exposeString('description'),
    version: t.exposeString('version', { description: 'The version the list holds now.' }),
    uri: t.exposeString('uri'),
    sha512: t.exposeString('sha512'),
    sizeBytes: t.expose('sizeBytes', { type: 'BigInt' }),
    hypervisor: t.exposeString('hypervisor'),
    arch: t.exposeString('arch'),
    os: t.exposeString('os'),
    osName: t.exposeString('osName'),
    osVersion: t.exposeString('osVersion'),
    state: t.field({ type: EntryStateEnum, resolve: (e) => e.state }),
    stateReason: t.exposeString('stateReason'),
    image: t.field({
      type: ImageType,
      nullable: true,
      description: 'The catalog image of the version imported last.',
      resolve: (e) => e.image?.load() ?? null,
    }),
    importedVersion: t.exposeString('importedVersion', { nullable: true }),
    importing: t.field({
      type: ImageType,
      nullable: true,
      description: 'The catalog image of a version being imported.',
      resolve: (e) => e.importing?.load() ?? null,
    }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

/** ImageListSubscriptionType is a followed image list. */
export const ImageListSubscriptionType = builder.node(ImageListSubscription, {
  name: 'ImageListSubscription',
  id: { resolve: (s) => s.id },
  authScopes: { admin: true },
  loadOne: (id, ctx) =>
    ctx.services.em.findOne(ImageListSubscription, { id: id as ImageListSubscriptionId }),
  fields: (t) => ({
    url: t.exposeString('url'),
    autoImport: t.exposeBoolean('autoImport'),
    publicImages: t.exposeBoolean('publicImages'),
    state: t.field({ type: SubscriptionStateEnum, resolve: (s) => s.state }),
    checkedAt: t.expose('checkedAt', { type: 'DateTime', nullable: true }),
    lastError: t.exposeString('lastError', {
      nullable: true,
      description:
        'Why the last check failed (fetch, signature, endorser, format); null when it passed.',
    }),
    listIdentifier: t.exposeString('listIdentifier', {
      nullable: true,
      description: "The last valid list's dc:identifier.",
    }),
    title: t.exposeString('title', { nullable: true }),
    description: t.exposeString('description', { nullable: true }),
    source: t.exposeString('source', { nullable: true }),
    listVersion: t.exposeString('listVersion', { nullable: true }),
    listCreatedAt: t.expose('listCreatedAt', { type: 'DateTime', nullable: true }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true }),
    endorserDn: t.exposeString('endorserDn', {
      nullable: true,
      description: 'Who signed the last valid list.',
    }),
    entries: t.field({
      type: [ImageListEntryType],
      description: "The list's images, by title.",
      resolve: (s, _a, ctx) => ctx.services.imageLists.entries(actorOf(ctx), s.id),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const ImageListEventType = builder.objectRef<ImageListEvent>('ImageListEvent').implement({
  description: 'A change to a followed list or one of its images.',
  fields: (t) => ({
    subscription: t.field({
      type: ImageListSubscriptionType,
      nullable: true,
      resolve: (e, _a, ctx) =>
        ctx.services.em.findOne(ImageListSubscription, { id: e.subscriptionId }),
    }),
    kind: t.field({ type: EventKindEnum, resolve: (e) => e.kind }),
    identifier: t.string({
      nullable: true,
      description: "The list image's dc:identifier, for image events.",
      resolve: (e) => e.identifier,
    }),
    image: t.field({
      type: ImageType,
      nullable: true,
      resolve: (e, _a, ctx) =>
        e.imageId ? ctx.services.images.get(actorOf(ctx), e.imageId).catch(() => null) : null,
    }),
    message: t.string({ resolve: (e) => e.message }),
    at: t.field({ type: 'DateTime', resolve: (e) => e.at }),
  }),
});

builder.queryFields((t) => ({
  endorsers: t.field({
    type: [EndorserType],
    authScopes: { admin: true },
    description: 'The endorsers whose signed image lists this cloud trusts. Admins only.',
    resolve: (_r, _a, ctx) => ctx.services.imageLists.endorsers(actorOf(ctx)),
  }),
  imageListSubscriptions: t.field({
    type: [ImageListSubscriptionType],
    authScopes: { admin: true },
    description: 'The image lists this cloud follows, by URL. Admins only.',
    resolve: (_r, _a, ctx) => ctx.services.imageLists.subscriptions(actorOf(ctx)),
  }),
}));

const EndorserPayload = builder
  .objectRef<{ endorser: Endorser | null; userErrors: UserErrorShape[] }>('EndorserPayload')
  .implement({
    fields: (t) => ({
      endorser: t.field({ type: EndorserType, nullable: true, resolve: (p) => p.endorser }),
      userErrors: t.field({ type: [UserError], resolve: (p) => p.userErrors }),
    }),
  });

const SubscriptionPayload = builder
  .objectRef<{ subscription: ImageListSubscription | null; userErrors: UserErrorShape[] }>(
    'ImageListSubscriptionPayload',
  )
  .implement({
    fields: (t) => ({
      subscription: t.field({
        type: ImageListSubscriptionType,
        nullable: true,
        resolve: (p) => p.subscription,
      }),
      userErrors: t.field({ type: [UserError], resolve: (p) => p.userErrors }),
    }),
  });

const EntryPayload = builder
  .objectRef<{
    entry: ImageListEntry | null;
    operation: Operation | null;
    userErrors: UserErrorShape[];
  }>('ImageListEntryPayload')
  .implement({
    fields: (t) => ({
      entry: t.field({ type: ImageListEntryType, nullable: true, resolve: (p) => p.entry }),
      operation: t.field({
        type: OperationType,
        nullable: true,
        description: 'The import, when it started (otherwise the entry says why not).',
        resolve: (p) => p.operation,
      }),
      userErrors: t.field({ type: [UserError], resolve: (p) => p.userErrors }),
    }),
  });

export const RemovedPayload = builder
  .objectRef<{
    removedId: { typename: string; id: string } | null;
    userErrors: UserErrorShape[];
  }>('ImageListRemovedPayload')
  .implement({
    fields: (t) => ({
      removedId: t.globalID({
        nullable: true,
        resolve: (p) => (p.removedId ? { type: p.removedId.typename, id: p.removedId.id } : null),
      }),
      userErrors: t.field({ type: [UserError], resolve: (p) => p.userErrors }),
    }),
  });

const EndorserAddInput = builder.inputType('EndorserAddInput', {
  fields: (t) => ({
    dn: t.string({
      description: "The signing certificate's DN, as lists write it (/DC=org/CN=name) or RFC 4514.",
      validate: z.string().max(512),
    }),
    caCertificate: t.string({
      description: 'The PEM of the CA that certificate chains up to.',
      validate: z.string().max(65_536),
    }),
  }),
});

const EndorserIdInput = builder.inputType('EndorserIdInput', {
  fields: (t) => ({ id: t.globalID({ for: EndorserType }) }),
});

const SubscribeInput = builder.inputType('ImageListSubscribeInput', {
  fields: (t) => ({
    url: t.string({ validate: z.string().max(2048) }),
    autoImport: t.boolean({
      required: false,
      defaultValue: false,
      description: 'Import each new image or version as it is listed.',
    }),
    publicImages: t.boolean({
      required: false,
      defaultValue: false,
      description: 'Make the imported images public.',
    }),
  }),
});

const SubscriptionIdInput = builder.inputType('ImageListSubscriptionIdInput', {
  fields: (t) => ({ id: t.globalID({ for: ImageListSubscriptionType }) }),
});

const EntryIdInput = builder.inputType('ImageListEntryIdInput', {
  fields: (t) => ({ id: t.globalID({ for: ImageListEntryType }) }),
});

builder.mutationFields((t) => ({
  endorserAdd: t.field({
    type: EndorserPayload,
    authScopes: { admin: true },
    description:
      'Trust image lists signed by a certificate with this DN, issued under this CA. Admins only.',
    args: { input: t.arg({ type: EndorserAddInput }) },
    resolve: async (_r, { input }, ctx) => {
      const out = await audited(ctx, 'endorserAdd', { type: 'ENDORSER', idOf: (e) => e.id }, () =>
        ctx.services.imageLists.endorserAdd(actorOf(ctx), input),
      );
      return { endorser: out.result, userErrors: out.userErrors };
    },
  }),
  endorserRemove: t.field({
    type: RemovedPayload,
    authScopes: { admin: true },
    description: 'Stop trusting an endorser: their lists are rejected from the next check on.',
    args: { input: t.arg({ type: EndorserIdInput }) },
    resolve: async (_r, { input }, ctx) => {
      const id = input.id.id as EndorserId;
      const out = await audited(ctx, 'endorserRemove', { type: 'ENDORSER', id }, () =>
        ctx.services.imageLists.endorserRemove(actorOf(ctx), id),
      );
      return {
        removedId: out.userErrors.length === 0 ? input.id : null,
        userErrors: out.userErrors,
      };
    },
  }),
  imageListSubscribe: t.field({
    type: SubscriptionPayload,
    authScopes: { admin: true },
    description:
      'Follow a signed image list. It is checked at once (the subscription says how that went) and then on a schedule. Admins only.',
    args: { input: t.arg({ type: SubscribeInput }) },
    resolve: async (_r, { input }, ctx) => {
      const out = await audited(
        ctx,
        'imageListSubscribe',
        { type: 'IMAGE_LIST', idOf: (s) => s.id },
        () =>
          ctx.services.imageLists.subscribe(actorOf(ctx), {
            url: input.url,
            autoImport: input.autoImport ?? false,
            publicImages: input.publicImages ?? false,
          }),
      );
      return { subscription: out.result, userErrors: out.userErrors };
    },
  }),
  imageListRefresh: t.field({
    type: SubscriptionPayload,
    authScopes: { admin: true },
    description: 'Check a followed list now.',
    args: { input: t.arg({ type: SubscriptionIdInput }) },
    resolve: async (_r, { input }, ctx) => {
      const id = input.id.id as ImageListSubscriptionId;
      const out = await audited(ctx, 'imageListRefresh', { type: 'IMAGE_LIST', id }, () =>
        ctx.services.imageLists.refresh(actorOf(ctx), id),
      );
      return { subscription: out.result, userErrors: out.userErrors };
    },
  }),
  imageListUnsubscribe: t.field({
    type: RemovedPayload,
    authScopes: { admin: true },
    description:
      'Stop following a list. Its imported images stay for the VMs made from them, but expire.',
    args: { input: t.arg({ type: SubscriptionIdInput }) },
    resolve: async (_r, { input }, ctx) => {
      const id = input.id.id as ImageListSubscriptionId;
      const out = await audited(ctx, 'imageListUnsubscribe', { type: 'IMAGE_LIST', id }, () =>
        ctx.services.imageLists.unsubscribe(actorOf(ctx), id),
      );
      return {
        removedId: out.userErrors.length === 0 ? input.id : null,
        userErrors: out.userErrors,
      };
    },
  }),
  imageListEntryImport: t.field({
    type: EntryPayload,
    authScopes: { admin: true },
    description: "Import the listed version of a list's image, checked against the list's SHA-512.",
    args: { input: t.arg({ type: EntryIdInput }) },
    resolve: async (_r, { input }, ctx) => {
      const id = input.id.id as ImageListEntryId;
      const out = await audited(ctx, 'imageListEntryImport', { type: 'IMAGE_LIST', id }, () =>
        ctx.services.imageLists.importEntry(actorOf(ctx), id),
      );
      return {
        entry: out.result?.entry ?? null,
        operation: out.result?.operation ?? null,
        userErrors: out.userErrors,
      };
    },
  }),
}));

builder.subscriptionFields((t) => ({
  imageListEvents: t.field({
    type: ImageListEventType,
    authScopes: { admin: true },
    description:
      'Every change to followed lists and their images as it happens: lists verified, rejected, unreachable or expired; images available, updated, expired, imported or failed. Admins only.',
    args: {
      subscription: t.arg.globalID({ for: ImageListSubscriptionType, required: false }),
    },
    subscribe: (_r, args, ctx) =>
      ctx.services.events.follow('imageListEvent', async function* (events) {
        for await (const e of events) {
          if (args.subscription && e.subscriptionId !== args.subscription.id) continue;
          yield e;
        }
      }),
    resolve: (e) => e,
  }),
}));
