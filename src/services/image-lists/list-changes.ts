import type { EntryState } from '../../entities/image-list-entry.ts';
import type { ImageList, ListedImage } from './image-list-format.ts';

/** KnownEntry is what a subscription holds of one image of its list. */
export interface KnownEntry {
  readonly identifier: string;
  readonly version: string;
  readonly sha512: string;
  readonly state: EntryState;
}

/**
 * ListChange is what a newly verified list changes for one image (vmcatcher's events):
 * AVAILABLE (new, or listed again after it left), UPDATED (another version or checksum: the
 * endorser vouches for other bytes now), EXPIRED (it left the list, or the list expired).
 */
export type ListChange =
  | { readonly kind: 'AVAILABLE'; readonly image: ListedImage }
  | { readonly kind: 'UPDATED'; readonly image: ListedImage; readonly fromVersion: string }
  | { readonly kind: 'EXPIRED'; readonly identifier: string; readonly reason: string };

/**
 * listChanges compares a verified list with what the subscription knows. An expired list
 * expires every image; otherwise each image is new, back, changed or the same, and images no
 * longer listed expire (revoked). Unchanged images yield nothing.
 */
export function listChanges(
  known: readonly KnownEntry[],
  list: ImageList,
  now: Date,
): ListChange[] {
  if (list.expiresAt.getTime() <= now.getTime())
    return known
      .filter((e) => e.state !== 'EXPIRED')
      .map((e) => ({
        kind: 'EXPIRED',
        identifier: e.identifier,
        reason: `its list expired at ${list.expiresAt.toISOString()}`,
      }));
  const byId = new Map(known.map((e) => [e.identifier, e]));
  const changes: ListChange[] = [];
  for (const image of list.images) {
    const entry = byId.get(image.identifier);
    if (!entry || entry.state === 'EXPIRED') changes.push({ kind: 'AVAILABLE', image });
    else if (entry.version !== image.version || entry.sha512 !== image.sha512)
      changes.push({ kind: 'UPDATED', image, fromVersion: entry.version });
  }
  const listed = new Set(list.images.map((i) => i.identifier));
  for (const e of known)
    if (!listed.has(e.identifier) && e.state !== 'EXPIRED')
      changes.push({
        kind: 'EXPIRED',
        identifier: e.identifier,
        reason: 'its endorser removed it from the list (revoked)',
      });
  return changes;
}
