import type { EntityManager } from '../../db/database.ts';
import { Endorser } from '../../entities/endorser.ts';
import type { ImageListSubscriptionId, SessionId, UserId } from '../../entities/ids.ts';
import { Image } from '../../entities/image.ts';
import { ImageListEntry } from '../../entities/image-list-entry.ts';
import { ImageListSubscription } from '../../entities/image-list-subscription.ts';
import { Operation } from '../../entities/operation.ts';
import { SmimeError, sameDn, type VerifiedSmime, verifySmime, x509 } from '../../pki/index.ts';
import type { Actor } from '../actor.ts';
import type { AuditService } from '../audit/audit-service.ts';
import { isServiceError, ServiceError } from '../errors.ts';
import type { EventBus } from '../events.ts';
import type { AddressPolicy } from '../images/address-policy.ts';
import { fetchDocument } from '../images/image-fetch.ts';
import type { ImageService } from '../images/image-service.ts';
import type { Locks } from '../locks.ts';
import type { OperationRunner } from '../operations/operation-runner.ts';
import { type ImageList, type ListedImage, parseImageList } from './image-list-format.ts';
import { listChanges } from './list-changes.ts';
import type { ImageListEvent, ImageListEventKind } from './list-events.ts';

/** RefresherDeps are what refreshing lists needs of the rest of the controller. */
export interface RefresherDeps {
  readonly fork: () => EntityManager;
  /** images gives an image service on a fresh unit of work, to import through. */
  readonly images: () => ImageService;
  readonly audit: AuditService;
  readonly operations: OperationRunner;
  readonly events: EventBus;
  /** policy is the image import address policy: lists are fetched under it too. */
  readonly policy: AddressPolicy;
  /** maxListBytes bounds a list download. */
  readonly maxListBytes: bigint;
  /** locks keep two refreshes of one list apart (across replicas when there are several). */
  readonly locks: Locks<ImageListSubscriptionId>;
}

/**
 * Emit records an event of a change; `commit` flushes the unit of work that made the changes
 * and only then publishes their events (and audit rows), so whoever hears one reads it true.
 */
interface Emit {
  (kind: ImageListEventKind, message: string, entry?: ImageListEntry | null): void;
  commit(em: EntityManager): Promise<void>;
}

/**
 * ListRefresher follows subscribed image lists: it fetches a list, verifies its S/MIME
 * signature against the trusted endorser's CA, its endorser and its expiry, and reconciles the
 * subscription's images with it (listChanges), importing new versions when the subscription
 * says so. One refresh of a subscription runs at a time. Every change is an ImageListEvent and
 * an audit row.
 */
export class ListRefresher {
  private readonly deps: RefresherDeps;
  private timer: ReturnType<typeof setInterval> | null = null;
  private running: Promise<void> | null = null;

  constructor(deps: RefresherDeps) {
    this.deps = deps;
  }

  /**
   * start refreshes every subscription every `intervalMs`, when `due` says so (among replicas,
   * only the leading one refreshes).
   */
  start(intervalMs: number, due: () => boolean = () => true): void {
    this.timer = setInterval(() => {
      if (this.running || !due()) return;
      this.running = this.refreshAll()
        .catch((err: unknown) => process.emitWarning(`image lists: ${String(err)}`))
        .finally(() => {
          this.running = null;
        });
    }, intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** refreshAll refreshes every subscription, one after the other. */
  async refreshAll(): Promise<void> {
    for (const s of await this.deps.fork().find(ImageListSubscription, {}, { fields: ['id'] }))
      await this.refresh(s.id, null);
  }

  /** refresh checks one subscription's list now; `actor` is who asked (null: the schedule). */
  refresh(id: ImageListSubscriptionId, actor: Actor | null): Promise<void> {
    return this.locked(id, () => this.check(id, actor));
  }

  // One change to a subscription at a time: refreshes, imports started, imports settled.
  private locked<T>(id: ImageListSubscriptionId, work: () => Promise<T>): Promise<T> {
    return this.deps.locks.run(id, 'a refresh of the list', work, 120_000);
  }

  /** importEntry imports the listed version of one image now (an admin's choice). */
  async importEntry(entryId: ImageListEntry['id'], actor: Actor): Promise<Operation | null> {
    const em = this.deps.fork();
    const entry = await em.findOne(ImageListEntry, { id: entryId }, { populate: ['subscription'] });
    if (!entry) throw new ServiceError('NOT_FOUND', `no image list entry ${entryId}`, 'input.id');
    return this.locked(entry.subscription.id, async () => {
      await em.refresh(entry);
      return this.startImport(em, entry, this.emitter(entry.subscription.id, actor));
    });
  }

  private async check(id: ImageListSubscriptionId, actor: Actor | null): Promise<void> {
    const em = this.deps.fork();
    const sub = await em.findOne(ImageListSubscription, { id });
    if (!sub) throw new ServiceError('NOT_FOUND', `no image list subscription ${id}`, 'input.id');
    const emit = this.emitter(id, actor);
    const now = new Date();
    sub.checkedAt = now;
    let bytes: Buffer;
    try {
      bytes = await fetchDocument(sub.url, {
        policy: this.deps.policy,
        maxBytes: this.deps.maxListBytes,
        timeoutMs: 30_000,
      });
    } catch (err) {
      sub.lastError = messageOf(err);
      emit('LIST_UNREACHABLE', sub.lastError);
      await this.expireIfLapsed(em, sub, now, emit);
      return;
    }
    let list: ImageList;
    let signer: VerifiedSmime['signer'];
    try {
      ({ list, signer } = await verifyList(bytes, await em.find(Endorser, {}), now));
    } catch (err) {
      sub.state = 'REJECTED';
      sub.lastError = messageOf(err);
      emit('LIST_REJECTED', sub.lastError);
      await this.expireIfLapsed(em, sub, now, emit);
      return;
    }
    const expired = list.expiresAt.getTime() <= now.getTime();
    em.assign(sub, {
      state: expired ? 'EXPIRED' : 'VALID',
      lastError: null,
      listIdentifier: list.identifier,
      title: list.title,
      description: list.description,
      source: list.source,
      listVersion: list.version,
      listCreatedAt: list.createdAt,
      expiresAt: list.expiresAt,
      endorserDn: signer.subjectDn,
    });
    emit(
      expired ? 'LIST_EXPIRED' : 'LIST_VERIFIED',
      expired
        ? `the list expired at ${list.expiresAt.toISOString()}`
        : `signed by ${signer.subjectDn}, ${list.images.length} images, valid until ${list.expiresAt.toISOString()}`,
    );
    await this.reconcile(em, sub, list, now, emit);
  }

  // When no valid list can be had, the last one vouches for its images only until it expires.
  private async expireIfLapsed(
    em: EntityManager,
    sub: ImageListSubscription,
    now: Date,
    emit: Emit,
  ): Promise<void> {
    if (sub.expiresAt && sub.expiresAt.getTime() <= now.getTime()) {
      const reason = `its list expired at ${sub.expiresAt.toISOString()} and no newer valid list could be had`;
      const entries = await em.find(
        ImageListEntry,
        { subscription: sub.id, state: { $ne: 'EXPIRED' } },
        { populate: ['image'] },
      );
      for (const entry of entries) this.expire(em, entry, reason, sub.title ?? sub.url, emit);
    }
    await emit.commit(em);
  }

  private expire(
    em: EntityManager,
    entry: ImageListEntry,
    reason: string,
    listTitle: string,
    emit: Emit,
  ): void {
    entry.state = 'EXPIRED';
    entry.stateReason = reason;
    const image = entry.image?.getEntity();
    if (image && image.state === 'AVAILABLE')
      em.assign(image, { state: 'EXPIRED', stateReason: `${reason} (image list "${listTitle}")` });
    emit('IMAGE_EXPIRED', `${entry.identifier} expired: ${reason}`, entry);
  }

  // Applies what the list changes, then settles imports and starts the ones it calls for.
  private async reconcile(
    em: EntityManager,
    sub: ImageListSubscription,
    list: ImageList,
    now: Date,
    emit: Emit,
  ): Promise<void> {
    const entries = await em.find(
      ImageListEntry,
      { subscription: sub.id },
      { populate: ['image', 'importing'] },
    );
    const byId = new Map(entries.map((e) => [e.identifier, e]));
    const toImport: ImageListEntry[] = [];
    for (const change of listChanges(entries, list, now)) {
      if (change.kind === 'EXPIRED') {
        this.expire(
          em,
          byId.get(change.identifier) as ImageListEntry,
          change.reason,
          list.title,
          emit,
        );
        continue;
      }
      const entry =
        byId.get(change.image.identifier) ??
        em.create(ImageListEntry, { subscription: sub, ...describe(change.image) });
      em.assign(entry, { ...describe(change.image), stateReason: '' });
      const image = entry.image?.getEntity() ?? null;
      if (
        image &&
        entry.importedVersion === change.image.version &&
        image.sha512 === change.image.sha512
      ) {
        // The version imported before is listed again: it is usable again.
        if (image.state === 'EXPIRED') em.assign(image, { state: 'AVAILABLE', stateReason: '' });
        entry.state = 'IMPORTED';
      } else {
        entry.state = entry.importing ? 'IMPORTING' : 'AVAILABLE';
        if (sub.autoImport && !entry.importing) toImport.push(entry);
      }
      emit(
        change.kind === 'AVAILABLE' ? 'IMAGE_AVAILABLE' : 'IMAGE_UPDATED',
        change.kind === 'AVAILABLE'
          ? `${change.image.title} ${change.image.version} is available`
          : `${change.image.title} is now version ${change.image.version} (was ${change.fromVersion})`,
        entry,
      );
    }
    // Titles and descriptions may change without a new version; a failed import is tried
    // again at each refresh (the failure may have been the network's).
    for (const image of list.images) {
      const entry = byId.get(image.identifier);
      if (!entry || entry.state === 'EXPIRED') continue;
      em.assign(entry, describe(image));
      if (sub.autoImport && entry.state === 'FAILED' && !toImport.includes(entry))
        toImport.push(entry);
    }
    await emit.commit(em);
    for (const entry of entries.filter((e) => e.state === 'IMPORTING' && !toImport.includes(e)))
      await this.settle(em, entry, emit);
    for (const entry of toImport) await this.startImport(em, entry, emit);
  }

  // Imports the listed version through the normal import path, with the list's SHA-512 as
  // the expected checksum, as the subscription's owner.
  // Starts importing an entry's listed version; the operation, or null when it could not start
  // (the entry then says why).
  private async startImport(
    em: EntityManager,
    entry: ImageListEntry,
    emit: Emit,
  ): Promise<Operation | null> {
    if (entry.state === 'EXPIRED')
      throw new ServiceError('INVALID_STATE', 'the image has expired from its list', 'input.id');
    if (entry.importing)
      throw new ServiceError('INVALID_STATE', 'the image is being imported already', 'input.id');
    const sub = await em.findOneOrFail(ImageListSubscription, { id: entry.subscription.id });
    const owner: Actor = {
      userId: sub.owner.id as UserId,
      sessionId: `image-list:${sub.id}` as SessionId,
      isAdmin: true,
      address: 'image-lists',
    };
    let started: Awaited<ReturnType<ImageService['import']>>;
    try {
      started = await this.deps.images().import(owner, {
        name: entry.title.slice(0, 128),
        description:
          `${entry.description}\n\nversion ${entry.version} of ${entry.identifier}, from the image list ${sub.url}`.trim(),
        url: entry.uri,
        sha512: entry.sha512,
      });
    } catch (err) {
      entry.state = 'FAILED';
      entry.stateReason = messageOf(err);
      emit('IMAGE_IMPORT_FAILED', `${entry.title} ${entry.version}: ${entry.stateReason}`, entry);
      await emit.commit(em);
      return null;
    }
    entry.importing = em.getReference(Image, started.image.id, { wrapped: true });
    entry.state = 'IMPORTING';
    await em.flush();
    const operation = started.operation.id;
    void this.deps.operations
      .settled(operation)
      .then(() =>
        this.locked(sub.id, async () => {
          const fresh = this.deps.fork();
          const e = await fresh.findOne(
            ImageListEntry,
            { id: entry.id },
            { populate: ['image', 'importing'] },
          );
          if (e) await this.settle(fresh, e, emit, operation);
        }),
      )
      .catch((err: unknown) => process.emitWarning(`image lists: ${String(err)}`));
    return started.operation;
  }

  // Ends an import that has finished: the new version replaces the one before (which expires,
  // superseded), or the entry says why the import failed (its image is gone with it).
  private async settle(
    em: EntityManager,
    entry: ImageListEntry,
    emit: Emit,
    operation?: Operation['id'],
  ): Promise<void> {
    const importing = entry.importing ? await em.findOne(Image, { id: entry.importing.id }) : null;
    if (importing?.state === 'IMPORTING') return;
    if (!importing) {
      const op = operation ? await em.findOne(Operation, { id: operation }) : null;
      entry.importing = null;
      entry.state = 'FAILED';
      entry.stateReason = op?.error ?? 'the import did not finish';
      emit('IMAGE_IMPORT_FAILED', `${entry.title} ${entry.version}: ${entry.stateReason}`, entry);
      await emit.commit(em);
      return;
    }
    const sub = await em.findOneOrFail(ImageListSubscription, { id: entry.subscription.id });
    const before = entry.image ? await em.findOne(Image, { id: entry.image.id }) : null;
    if (before && before.state === 'AVAILABLE')
      em.assign(before, {
        state: 'EXPIRED',
        stateReason: `superseded by version ${entry.version} (image list "${sub.title}")`,
      });
    importing.public = sub.publicImages;
    entry.image = entry.importing;
    entry.importing = null;
    entry.importedVersion = entry.version;
    entry.state = entry.state === 'EXPIRED' ? 'EXPIRED' : 'IMPORTED';
    if (entry.state === 'EXPIRED')
      em.assign(importing, { state: 'EXPIRED', stateReason: entry.stateReason });
    emit('IMAGE_IMPORTED', `${entry.title} ${entry.version} is imported`, entry);
    await emit.commit(em);
  }

  private emitter(subscriptionId: ImageListSubscriptionId, actor: Actor | null): Emit {
    const pending: Array<{ event: ImageListEvent; details: Record<string, string> }> = [];
    const emit = (kind: ImageListEventKind, message: string, entry?: ImageListEntry | null) => {
      pending.push({
        event: {
          subscriptionId,
          kind,
          identifier: entry?.identifier ?? null,
          imageId: (entry?.importing?.id ?? entry?.image?.id ?? null) as ImageListEvent['imageId'],
          message,
          at: new Date(),
        },
        details: entry ? { identifier: entry.identifier, version: entry.version } : {},
      });
    };
    const publish = ({ event, details }: (typeof pending)[number]) => {
      this.deps.events.publish('imageListEvent', event);
      const failed =
        event.kind === 'LIST_REJECTED' ||
        event.kind === 'LIST_UNREACHABLE' ||
        event.kind.endsWith('FAILED');
      void this.deps.audit
        .record({
          actor,
          action: `imageList.${event.kind}`,
          targetType: 'IMAGE_LIST',
          targetId: subscriptionId,
          result: failed ? 'ERROR' : 'OK',
          message: event.message,
          details,
        })
        .catch((err: unknown) => process.emitWarning(`image lists: audit: ${String(err)}`));
    };
    return Object.assign(emit, {
      commit: async (em: EntityManager) => {
        await em.flush();
        for (const p of pending.splice(0)) publish(p);
      },
    });
  }
}

// The columns of an entry that its list describes.
function describe(i: ListedImage) {
  return {
    identifier: i.identifier,
    title: i.title,
    description: i.description,
    version: i.version,
    uri: i.uri,
    sha512: i.sha512,
    sizeBytes: i.sizeBytes,
    hypervisor: i.hypervisor.slice(0, 64),
    arch: i.arch.slice(0, 64),
    os: i.os.slice(0, 64),
    osName: i.osName.slice(0, 64),
    osVersion: i.osVersion.slice(0, 64),
  };
}

/**
 * verifyList checks a fetched list: an S/MIME message signed by a trusted endorser (the
 * signing certificate's DN is theirs, and it chains up to their own CA, every certificate valid
 * now), whose JSON names that same endorser. Anything else is refused, saying which check.
 */
export async function verifyList(
  bytes: Uint8Array,
  endorsers: readonly Endorser[],
  now: Date,
): Promise<{ list: ImageList; signer: VerifiedSmime['signer'] }> {
  if (endorsers.length === 0)
    throw new ServiceError('REFUSED', 'no endorser is trusted yet: add one with endorserAdd');
  const { content, signer, anchorPem } = await verifySmime(
    bytes,
    { caCertificates: endorsers.map((e) => e.caCertificate) },
    now,
  );
  const named = endorsers.filter((e) => sameDn(e.dn, signer.subjectDn));
  if (named.length === 0)
    throw new ServiceError(
      'REFUSED',
      `the list is signed by ${signer.subjectDn}, who is not a trusted endorser`,
    );
  // The chain must lead to this endorser's own CA, not just to some trusted CA.
  if (!named.some((e) => samePem(e.caCertificate, anchorPem)))
    throw new ServiceError(
      'REFUSED',
      `the list is signed by ${signer.subjectDn}, but under ${signer.issuerDn}'s chain, not the CA trusted for that endorser`,
    );
  const list = parseImageList(content);
  if (!sameDn(list.endorser.dn, signer.subjectDn))
    throw new ServiceError(
      'REFUSED',
      `the list names its endorser ${list.endorser.dn}, but ${signer.subjectDn} signed it`,
    );
  return { list, signer };
}

// Two PEM certificates are the same when their DER is.
function samePem(a: string, b: string): boolean {
  const der = (pem: string) => Buffer.from(x509.PemConverter.decode(pem)[0] ?? new ArrayBuffer(0));
  return der(a).equals(der(b));
}

function messageOf(err: unknown): string {
  if (err instanceof SmimeError) return `${err.code}: ${err.message}`;
  if (isServiceError(err)) return err.message;
  return err instanceof Error ? err.message : String(err);
}
