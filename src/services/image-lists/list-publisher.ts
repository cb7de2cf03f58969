import { readFile } from 'node:fs/promises';
import type { EntityManager } from '../../db/database.ts';
import type { ImageId, PublishedImageListId, UserId } from '../../entities/ids.ts';
import { Image } from '../../entities/image.ts';
import { PublishedImageList } from '../../entities/published-image-list.ts';
import { User } from '../../entities/user.ts';
import { opensslDn, signSmime, x509 } from '../../pki/index.ts';
import { type Actor, requireAdmin } from '../actor.ts';
import { ServiceError } from '../errors.ts';
import { checkDescription, checkLabel } from '../text.ts';
import { formatImageList, type ListedImage, stamp } from './image-list-format.ts';

/** PUBLISHED_LISTS_PATH is where the controller serves the lists it publishes, and their files. */
export const PUBLISHED_LISTS_PATH = '/image-lists';

/** PublisherSettings are who signs published lists and where they are served from. */
export interface PublisherSettings {
  /** baseUrl is the controller as other machines reach it, without a trailing slash. */
  readonly baseUrl: () => string;
  /** certificateFile, keyFile and chainFile are absolute paths (or absent: not set up). */
  readonly certificateFile?: string;
  readonly keyFile?: string;
  readonly chainFile?: string;
  readonly creator: string;
  readonly email: string;
}

/** PublishInput is a list to publish: a new one, or a new version of `list`. */
export interface PublishInput {
  readonly list?: PublishedImageListId;
  readonly images: readonly ImageId[];
  readonly title: string;
  readonly description: string;
  readonly expiresAt: Date;
}

const MAX_IMAGES = 1000;
const MAX_LIFETIME_MS = 366 * 86_400_000;

/** listUrl is where a published list is served. */
export function listUrl(settings: PublisherSettings, id: PublishedImageListId): string {
  return `${settings.baseUrl()}${PUBLISHED_LISTS_PATH}/${id}`;
}

/**
 * ListPublisher publishes signed lists of this cloud's public images (VMcaster's role), so
 * other clouds, Kumo or vmcatcher, can subscribe: admins only. A list keeps its identifier and
 * URL across publications; each one is a new version, signed again.
 */
export class ListPublisher {
  private readonly em: EntityManager;
  private readonly settings: PublisherSettings;

  constructor(em: EntityManager, settings: PublisherSettings) {
    this.em = em;
    this.settings = settings;
  }

  lists(actor: Actor): Promise<PublishedImageList[]> {
    requireAdmin(actor, 'publish image lists');
    return this.em.find(PublishedImageList, {}, { orderBy: { title: 'asc' } });
  }

  /** url is where a published list is served. */
  url(list: PublishedImageList): string {
    return listUrl(this.settings, list.id);
  }

  /** images are a published list's images that still exist, in the list's order. */
  async images(list: PublishedImageList): Promise<Image[]> {
    const found = await this.em.find(Image, { id: { $in: list.imageIds as ImageId[] } });
    const byId = new Map(found.map((i) => [i.id as string, i]));
    return list.imageIds.flatMap((id) => byId.get(id) ?? []);
  }

  /**
   * publish signs and stores a list of public, available images; it is served at once at
   * listUrl. Every image must be public (the list and its files are served to anyone).
   */
  async publish(actor: Actor, input: PublishInput): Promise<PublishedImageList> {
    requireAdmin(actor, 'publish image lists');
    const title = checkLabel(input.title, 'a list title', 256, 'input.title');
    const description = checkDescription(input.description);
    const now = new Date();
    if (input.expiresAt.getTime() <= now.getTime() + 60_000)
      throw new ServiceError('INVALID', 'a list expires in the future', 'input.expiresAt');
    if (input.expiresAt.getTime() > now.getTime() + MAX_LIFETIME_MS)
      throw new ServiceError(
        'INVALID',
        'a list lives at most 366 days: publish it again before it expires',
        'input.expiresAt',
      );
    const images = await this.listable(input.images);
    const existing = input.list
      ? await this.em.findOne(PublishedImageList, { id: input.list })
      : null;
    if (input.list && !existing)
      throw new ServiceError('NOT_FOUND', `no published image list ${input.list}`, 'input.list');
    const signer = await this.signer();
    if (input.expiresAt.getTime() > signer.notAfter.getTime())
      throw new ServiceError(
        'INVALID',
        `the list would outlive the certificate that signs it (valid until ${signer.notAfter.toISOString()})`,
        'input.expiresAt',
      );
    const list =
      existing ??
      this.em.create(PublishedImageList, {
        title,
        imageIds: [],
        expiresAt: input.expiresAt,
        signed: '',
        publishedAt: now,
      });
    const version = existing ? existing.version + 1 : 1;
    const json = formatImageList({
      identifier: list.id,
      title,
      description,
      source: this.settings.baseUrl(),
      version: String(version),
      uri: listUrl(this.settings, list.id),
      createdAt: now,
      expiresAt: input.expiresAt,
      endorser: {
        dn: signer.dn,
        ca: signer.caDn,
        creator: this.settings.creator,
        email: this.settings.email,
      },
      images: images.map((i) => this.listed(list.id, i)),
    });
    let signed: string;
    try {
      signed = await signSmime(Buffer.from(json), signer.identity);
    } catch (err) {
      throw new ServiceError('REFUSED', `cannot sign the list: ${(err as Error).message}`);
    }
    this.em.assign(list, {
      title,
      description,
      version,
      imageIds: images.map((i) => i.id),
      expiresAt: input.expiresAt,
      signed,
      publishedBy: this.em.getReference(User, actor.userId as UserId),
      publishedAt: now,
    });
    await this.em.flush();
    return list;
  }

  /** unpublish stops serving a list: its subscribers find it gone and, at its expiry, expire it. */
  async unpublish(actor: Actor, id: PublishedImageListId): Promise<void> {
    requireAdmin(actor, 'publish image lists');
    const list = await this.em.findOne(PublishedImageList, { id });
    if (!list) throw new ServiceError('NOT_FOUND', `no published image list ${id}`, 'input.id');
    this.em.remove(list);
    await this.em.flush();
  }

  // The images to list, in the order asked: each once, public and available.
  private async listable(ids: readonly ImageId[]): Promise<Image[]> {
    if (ids.length === 0 || ids.length > MAX_IMAGES)
      throw new ServiceError('INVALID', `a list has 1 to ${MAX_IMAGES} images`, 'input.images');
    if (new Set(ids).size !== ids.length)
      throw new ServiceError('INVALID', 'an image is listed twice', 'input.images');
    const found = await this.em.find(Image, { id: { $in: [...ids] } });
    const byId = new Map(found.map((i) => [i.id, i]));
    return ids.map((id) => {
      const image = byId.get(id);
      if (!image) throw new ServiceError('NOT_FOUND', `no image ${id}`, 'input.images');
      if (image.state !== 'AVAILABLE' || !image.sha512 || image.sizeBytes === null)
        throw new ServiceError(
          'INVALID_STATE',
          `image "${image.name}" is ${image.state}: only available images are listed`,
          'input.images',
        );
      if (!image.public)
        throw new ServiceError(
          'INVALID',
          `image "${image.name}" is not public: a published list and its files are served to anyone`,
          'input.images',
        );
      return image;
    });
  }

  // An image as the list describes it: served from this controller, under the list's URL.
  private listed(listId: PublishedImageListId, image: Image): ListedImage {
    return {
      identifier: image.id,
      title: image.name,
      description: image.description,
      // A catalog image's bytes never change: its creation time is its version.
      version: stamp(image.createdAt),
      uri: `${listUrl(this.settings, listId)}/images/${image.id}`,
      sha512: image.sha512 as string,
      sizeBytes: image.sizeBytes as bigint,
      hypervisor: 'QEMU,KVM',
      arch: 'x86_64',
      os: '',
      osName: '',
      osVersion: '',
      comments: `format ${image.format}`,
    };
  }

  // The signing identity, read from its files at each publication (so it can be rotated).
  private async signer() {
    const { certificateFile, keyFile, chainFile } = this.settings;
    if (!certificateFile || !keyFile)
      throw new ServiceError(
        'REFUSED',
        'this controller has no endorser certificate: set imageLists.publisher.certificateFile and keyFile',
      );
    const read = (file: string) =>
      readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
        throw new ServiceError('REFUSED', `cannot read ${file}: ${err.code ?? err.message}`);
      });
    const [certificatePem, keyPem, chainPem] = await Promise.all([
      read(certificateFile),
      read(keyFile),
      chainFile ? read(chainFile) : Promise.resolve(null),
    ]);
    let cert: x509.X509Certificate;
    try {
      cert = new x509.X509Certificate(certificatePem);
    } catch (err) {
      throw new ServiceError(
        'REFUSED',
        `${certificateFile} is no PEM certificate: ${(err as Error).message}`,
      );
    }
    if (cert.notAfter.getTime() <= Date.now())
      throw new ServiceError(
        'REFUSED',
        `the endorser certificate expired at ${cert.notAfter.toISOString()}`,
      );
    return {
      dn: opensslDn(cert.subjectName),
      caDn: opensslDn(cert.issuerName),
      notAfter: cert.notAfter,
      identity: { certificatePem, keyPem, chainPem: chainPem ? [chainPem] : [] },
    };
  }
}
