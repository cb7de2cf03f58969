import type { EntityManager } from '../../db/database.ts';
import { Endorser } from '../../entities/endorser.ts';
import type { EndorserId, ImageListEntryId, ImageListSubscriptionId } from '../../entities/ids.ts';
import { Image } from '../../entities/image.ts';
import { ImageListEntry } from '../../entities/image-list-entry.ts';
import { ImageListSubscription } from '../../entities/image-list-subscription.ts';
import type { Operation } from '../../entities/operation.ts';
import { User } from '../../entities/user.ts';
import { opensslDn, sameDn, x509 } from '../../pki/index.ts';
import { type Actor, requireAdmin } from '../actor.ts';
import { ServiceError } from '../errors.ts';
import type { AddressPolicy } from '../images/address-policy.ts';
import { checkUrl } from '../images/image-fetch.ts';
import type { ListRefresher } from './list-refresher.ts';

/** ImageListDeps are the process-wide parts following lists needs. */
export interface ImageListDeps {
  readonly refresher: ListRefresher;
  readonly policy: AddressPolicy;
}

/**
 * ImageListService is what admins do with signed image lists: trust endorsers, subscribe to
 * lists (each checked at once, then on the refresher's schedule), import their images, and
 * unsubscribe. Admins only: a list's images are the cloud's.
 */
export class ImageListService {
  private readonly em: EntityManager;
  private readonly deps: ImageListDeps;

  constructor(em: EntityManager, deps: ImageListDeps) {
    this.em = em;
    this.deps = deps;
  }

  endorsers(actor: Actor): Promise<Endorser[]> {
    requireAdmin(actor, 'manage image lists');
    return this.em.find(Endorser, {}, { orderBy: { dn: 'asc' } });
  }

  /**
   * endorserAdd trusts lists signed by a certificate with subject `dn` (OpenSSL's slash form,
   * as lists write it, or RFC 4514) that chains up to `caCertificate` (PEM of a CA).
   */
  async endorserAdd(actor: Actor, input: { dn: string; caCertificate: string }): Promise<Endorser> {
    requireAdmin(actor, 'manage image lists');
    const dn = input.dn.trim();
    if (dn.length === 0 || dn.length > 512)
      throw new ServiceError('INVALID', 'a DN is 1 to 512 characters', 'input.dn');
    let ca: x509.X509Certificate;
    try {
      ca = new x509.X509Certificate(input.caCertificate.trim());
    } catch (err) {
      throw new ServiceError(
        'INVALID',
        `not a PEM certificate: ${(err as Error).message}`,
        'input.caCertificate',
      );
    }
    const constraints = ca.getExtension(x509.BasicConstraintsExtension);
    if (!constraints?.ca)
      throw new ServiceError(
        'INVALID',
        `${opensslDn(ca.subjectName)} is not a CA certificate (no basicConstraints CA:TRUE)`,
        'input.caCertificate',
      );
    for (const e of await this.em.find(Endorser, {}))
      if (sameDn(e.dn, dn))
        throw new ServiceError('CONFLICT', `${e.dn} is an endorser already`, 'input.dn');
    const endorser = this.em.create(Endorser, {
      dn,
      caCertificate: ca.toString('pem'),
      caDn: opensslDn(ca.subjectName),
    });
    await this.em.flush();
    return endorser;
  }

  /** endorserRemove stops trusting an endorser: their lists are rejected at the next refresh. */
  async endorserRemove(actor: Actor, id: EndorserId): Promise<void> {
    requireAdmin(actor, 'manage image lists');
    const endorser = await this.em.findOne(Endorser, { id });
    if (!endorser) throw new ServiceError('NOT_FOUND', `no endorser ${id}`, 'input.id');
    this.em.remove(endorser);
    await this.em.flush();
  }

  subscriptions(actor: Actor): Promise<ImageListSubscription[]> {
    requireAdmin(actor, 'manage image lists');
    return this.em.find(ImageListSubscription, {}, { orderBy: { url: 'asc' } });
  }

  async subscription(actor: Actor, id: ImageListSubscriptionId): Promise<ImageListSubscription> {
    requireAdmin(actor, 'manage image lists');
    const sub = await this.em.findOne(ImageListSubscription, { id });
    if (!sub) throw new ServiceError('NOT_FOUND', `no image list subscription ${id}`, 'input.id');
    return sub;
  }

  /** entries are a subscription's images, by title. */
  async entries(actor: Actor, id: ImageListSubscriptionId): Promise<ImageListEntry[]> {
    await this.subscription(actor, id);
    return this.em.find(
      ImageListEntry,
      { subscription: id },
      { orderBy: { title: 'asc', identifier: 'asc' } },
    );
  }

  /**
   * subscribe follows the list at `url` and checks it at once: the subscription comes back
   * VALID, REJECTED (saying which check failed), or PENDING with lastError when the list could
   * not be fetched. Images imported from it are the subscribing admin's.
   */
  async subscribe(
    actor: Actor,
    input: { url: string; autoImport: boolean; publicImages: boolean },
  ): Promise<ImageListSubscription> {
    requireAdmin(actor, 'manage image lists');
    const url = checkUrl(input.url.trim(), this.deps.policy).toString();
    if (await this.em.count(ImageListSubscription, { url }))
      throw new ServiceError('CONFLICT', `${url} is subscribed already`, 'input.url');
    const sub = this.em.create(ImageListSubscription, {
      url,
      autoImport: input.autoImport,
      publicImages: input.publicImages,
      owner: this.em.getReference(User, actor.userId),
    });
    await this.em.flush();
    return this.refresh(actor, sub.id);
  }

  /** refresh checks a subscription's list now. */
  async refresh(actor: Actor, id: ImageListSubscriptionId): Promise<ImageListSubscription> {
    const sub = await this.subscription(actor, id);
    await this.deps.refresher.refresh(id, actor);
    await this.em.refresh(sub);
    return sub;
  }

  /** importEntry imports an image of a list that is not imported automatically. */
  async importEntry(
    actor: Actor,
    id: ImageListEntryId,
  ): Promise<{ entry: ImageListEntry; operation: Operation | null }> {
    requireAdmin(actor, 'manage image lists');
    const operation = await this.deps.refresher.importEntry(id, actor);
    const entry = await this.em.findOneOrFail(ImageListEntry, { id }, { refresh: true });
    return { entry, operation };
  }

  /**
   * unsubscribe stops following a list. Its imported images stay for the VMs made from them,
   * but expire: without the list, nobody vouches for them any longer.
   */
  async unsubscribe(actor: Actor, id: ImageListSubscriptionId): Promise<void> {
    const sub = await this.subscription(actor, id);
    const entries = await this.em.find(ImageListEntry, { subscription: id });
    const busy = entries.filter((e) => e.importing);
    if (busy.length > 0)
      throw new ServiceError(
        'INVALID_STATE',
        `${busy.length} of its images are being imported: cancel those operations or wait for them first`,
        'input.id',
      );
    const images = entries.flatMap((e) => (e.image ? [e.image.id] : []));
    await this.em.nativeUpdate(
      Image,
      { id: { $in: images }, state: 'AVAILABLE' },
      { state: 'EXPIRED', stateReason: `its image list ${sub.url} was unsubscribed` },
    );
    this.em.remove(sub);
    await this.em.flush();
  }
}
