import { defineEntity, p } from '@mikro-orm/core';
import { type ImageListSubscriptionId, newId } from './ids.ts';
import { User } from './user.ts';

/**
 * SUBSCRIPTION_STATES: PENDING until the first refresh; VALID while the last list fetched was
 * signed by a trusted endorser and current; REJECTED when the last one failed a check (its
 * images stay as the last valid list left them); EXPIRED once the list's own expiry passed. A
 * list that could not be fetched changes no state: lastError says so.
 */
export const SUBSCRIPTION_STATES = ['PENDING', 'VALID', 'REJECTED', 'EXPIRED'] as const;
/** SubscriptionState is one of SUBSCRIPTION_STATES. */
export type SubscriptionState = (typeof SUBSCRIPTION_STATES)[number];

/**
 * ImageListSubscriptionSchema maps ImageListSubscription to `image_list_subscriptions`: an
 * image list URL the cloud follows, with what its last valid list said of itself.
 */
export const ImageListSubscriptionSchema = defineEntity({
  name: 'ImageListSubscription',
  tableName: 'image_list_subscriptions',
  properties: {
    id: p
      .uuid()
      .$type<ImageListSubscriptionId>()
      .primary()
      .onCreate(() => newId<ImageListSubscriptionId>()),
    url: p.text().unique(),
    /** autoImport imports each new image or version as it appears. */
    autoImport: p.boolean().default(false),
    /** publicImages makes the images imported from the list public. */
    publicImages: p.boolean().default(false),
    /** owner is the admin who subscribed: imported images are theirs. */
    owner: () => p.manyToOne(User).ref().index(),
    state: p.enum(SUBSCRIPTION_STATES).default('PENDING'),
    /** checkedAt is when the list was last fetched (or tried). */
    checkedAt: p.datetime().nullable(),
    /** lastError says why the last check failed (fetch, signature, format); null when it passed. */
    lastError: p.text().nullable(),
    /** The last valid list's own metadata (null until one was). */
    listIdentifier: p.string().length(64).nullable(),
    title: p.text().nullable(),
    description: p.text().nullable(),
    source: p.text().nullable(),
    listVersion: p.string().length(64).nullable(),
    listCreatedAt: p.datetime().nullable(),
    expiresAt: p.datetime().nullable(),
    /** endorserDn is who signed it (the signing certificate's subject). */
    endorserDn: p.string().length(512).nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});

/** ImageListSubscription is a followed image list. */
export class ImageListSubscription extends ImageListSubscriptionSchema.class {}
ImageListSubscriptionSchema.setClass(ImageListSubscription);
