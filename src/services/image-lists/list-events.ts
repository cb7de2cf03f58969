import type { ImageId, ImageListSubscriptionId } from '../../entities/ids.ts';

/**
 * IMAGE_LIST_EVENT_KINDS are what happens to a followed list and its images (vmcatcher's
 * events, and the checks behind them): a list verified, rejected, unreachable or expired; an
 * image available, updated, expired, imported, or whose import failed.
 */
export const IMAGE_LIST_EVENT_KINDS = [
  'LIST_VERIFIED',
  'LIST_REJECTED',
  'LIST_UNREACHABLE',
  'LIST_EXPIRED',
  'IMAGE_AVAILABLE',
  'IMAGE_UPDATED',
  'IMAGE_EXPIRED',
  'IMAGE_IMPORTED',
  'IMAGE_IMPORT_FAILED',
] as const;
/** ImageListEventKind is one of IMAGE_LIST_EVENT_KINDS. */
export type ImageListEventKind = (typeof IMAGE_LIST_EVENT_KINDS)[number];

/** ImageListEvent is one change to a followed list or one of its images. */
export interface ImageListEvent {
  readonly subscriptionId: ImageListSubscriptionId;
  readonly kind: ImageListEventKind;
  /** identifier is the list image's `dc:identifier`, for image events. */
  readonly identifier: string | null;
  /** imageId is the catalog image concerned, when there is one. */
  readonly imageId: ImageId | null;
  readonly message: string;
  readonly at: Date;
}
