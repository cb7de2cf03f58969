import { rename, rm } from 'node:fs/promises';
import type { FilterQuery } from '@mikro-orm/core';
import type { EntityManager } from '../../db/database.ts';
import type { ImageId, UserId } from '../../entities/ids.ts';
import { Image, type ImageState } from '../../entities/image.ts';
import type { Operation } from '../../entities/operation.ts';
import { Permission, type Role } from '../../entities/permission.ts';
import { User } from '../../entities/user.ts';
import { Vm } from '../../entities/vm.ts';
import type { Actor } from '../actor.ts';
import { ServiceError } from '../errors.ts';
import { namedPage } from '../named-page.ts';
import type { OperationContext, OperationRunner } from '../operations/operation-runner.ts';
import { transferDetails } from '../operations/transfer-progress.ts';
import {
  type Access,
  type PermissionService,
  renameGrants,
  type Share,
} from '../permissions/permission-service.ts';
import type { QuotaGuard } from '../quotas/quota-guard.ts';
import { checkDescription, checkLabel } from '../text.ts';
import type { AddressPolicy } from './address-policy.ts';
import type { ImageCache } from './image-cache.ts';
import { checkUrl, fetchImage } from './image-fetch.ts';
import { readImageHeader } from './image-format.ts';
import type { ImageStore } from './image-store.ts';

/** ImageDeps are the process-wide parts images need. */
export interface ImageDeps {
  readonly store: ImageStore;
  readonly cache: ImageCache;
  readonly policy: AddressPolicy;
  readonly maxBytes: bigint;
  readonly operations: OperationRunner;
  /** quotas admits images and their bytes against their owners' limits. */
  readonly quotas: QuotaGuard;
}

/** ImageInput is what a new image is called. */
export interface ImageInput {
  readonly name: string;
  readonly description?: string;
}

/** ImageFilter narrows images(query). */
export interface ImageFilter {
  /** text matches name or description, case-insensitively. */
  readonly text?: string;
  readonly owner?: UserId;
  readonly state?: ImageState;
}

/** ArrivedFile is an image file that reached the controller by upload, checked and hashed. */
export interface ArrivedFile {
  readonly path: string;
  readonly bytes: bigint;
  readonly sha512: string;
}

/**
 * ImageService keeps the image catalog: imports from URLs and uploads into the store, lists
 * what each user may see (their roles, plus public images), changes, shares and removes.
 */
export class ImageService {
  private readonly em: EntityManager;
  private readonly permissions: PermissionService;
  private readonly deps: ImageDeps;

  constructor(em: EntityManager, permissions: PermissionService, deps: ImageDeps) {
    this.em = em;
    this.permissions = permissions;
    this.deps = deps;
  }

  /** get returns an image the actor may act on as `access` asks (public images: view and use). */
  async get(actor: Actor, id: ImageId, access: Access = 'view'): Promise<Image> {
    const image = await this.em.findOne(Image, { id });
    if (!image) throw new ServiceError('NOT_FOUND', `no image ${id}`, 'input.id');
    if (image.public && access !== 'manage') return image;
    await this.permissions.require(actor, { type: 'IMAGE', id }, access);
    return image;
  }

  /** list returns the images the actor may see, by name. */
  async list(
    actor: Actor,
    q: { first: number; after?: { name: string; id: ImageId }; filter?: ImageFilter },
  ): Promise<{ images: Image[]; hasNextPage: boolean }> {
    const and: FilterQuery<Image>[] = [];
    if (!actor.isAdmin)
      and.push({
        $or: [await this.permissions.visibleIds<Image>(actor, 'IMAGE'), { public: true }],
      });
    const f = q.filter ?? {};
    if (f.owner) and.push({ owner: f.owner });
    if (f.state) and.push({ state: f.state });
    const { rows, hasNextPage } = await namedPage(this.em, Image, and, {
      first: q.first,
      ...(q.after ? { after: q.after } : {}),
      ...(f.text ? { text: f.text } : {}),
    });
    return { images: rows, hasNextPage };
  }

  /**
   * import records the image as IMPORTING and downloads it in the background as an operation:
   * streamed into the store, hashed, its format and virtual size read from its own header. A
   * failed or cancelled import leaves no file, row or permission behind.
   */
  async import(
    actor: Actor,
    input: ImageInput & { url: string; sha512?: string },
  ): Promise<{ image: Image; operation: Operation }> {
    const url = checkUrl(input.url, this.deps.policy);
    const expected = input.sha512 ? checkSha512(input.sha512) : undefined;
    return this.register(actor, input, {
      kind: 'imageImport',
      sourceUrl: url.origin + url.pathname,
      arrive: (dest, ctx) =>
        fetchImage(url.toString(), dest, {
          policy: this.deps.policy,
          maxBytes: this.deps.maxBytes,
          signal: ctx.signal,
          ...(expected ? { expectedSha512: expected } : {}),
          onProgress: (received, total) =>
            ctx.progress(
              total ? Number(received) / Number(total) : 0,
              'downloading',
              transferDetails(received, total),
            ),
        }),
    });
  }

  /**
   * register records a new image as IMPORTING and brings its bytes in the background as an
   * operation of `kind`: `arrive` writes them to the path it is given and says their size and
   * SHA-512; the image is then checked and made AVAILABLE. A failed or cancelled operation
   * leaves no file, row or permission behind.
   */
  async register(
    actor: Actor,
    input: ImageInput,
    how: {
      kind: string;
      sourceUrl: string | null;
      arrive: (dest: string, ctx: OperationContext) => Promise<{ bytes: bigint; sha512: string }>;
    },
  ): Promise<{ image: Image; operation: Operation }> {
    const image = await this.create(actor, input, how.sourceUrl, null);
    const operation = await this.deps.operations.start({
      kind: how.kind,
      actorId: actor.userId,
      targetType: 'IMAGE',
      targetId: image.id,
      work: (ctx) => this.fill(image.id, ctx, (dest) => how.arrive(dest, ctx)),
    });
    return { image, operation };
  }

  /**
   * upload registers a file that arrived with the request (GraphQL multipart upload), with the
   * same checks as an import; it is in the store when this returns.
   */
  async upload(
    actor: Actor,
    input: ImageInput & { file: ArrivedFile; sha512?: string },
  ): Promise<Image> {
    const expected = input.sha512 ? checkSha512(input.sha512) : undefined;
    if (input.file.bytes > this.deps.maxBytes)
      throw new ServiceError(
        'INVALID',
        `the image is larger than the limit of ${this.deps.maxBytes} bytes`,
        'input.file',
      );
    if (expected && expected !== input.file.sha512)
      throw new ServiceError(
        'INVALID',
        `the image's SHA-512 is ${input.file.sha512}, not the expected ${expected}`,
        'input.sha512',
      );
    const image = await this.create(actor, input, null, input.file.bytes);
    await this.fill(image.id, null, async (dest) => {
      await rename(input.file.path, dest);
      return { bytes: input.file.bytes, sha512: input.file.sha512 };
    });
    await this.em.refresh(image);
    return image;
  }

  /** update changes name and description (owners), or public (admins). */
  async update(
    actor: Actor,
    id: ImageId,
    changes: { name?: string; description?: string; public?: boolean },
  ): Promise<Image> {
    const image = await this.get(actor, id, 'manage');
    if (changes.public !== undefined && changes.public !== image.public && !actor.isAdmin)
      throw new ServiceError('FORBIDDEN', 'only admins may make images public or private');
    if (changes.name !== undefined) image.name = checkLabel(changes.name, 'an image name', 128);
    if (changes.description !== undefined)
      image.description = checkDescription(changes.description);
    if (changes.public !== undefined) image.public = changes.public;
    // The transaction's unit of work writes the changes above with the grants' new name.
    await this.em.transactional(async (tx) => {
      if (changes.name !== undefined)
        await renameGrants(tx, { type: 'IMAGE', id, name: image.name });
    });
    return image;
  }

  /**
   * remove deletes an image from the catalog and the store, and its copies on hosts that no VM
   * uses. While VMs still use it as their base it is refused, unless an admin forces it: then
   * the copies those VMs need stay on their hosts until the last of them goes.
   */
  async remove(actor: Actor, id: ImageId, force = false): Promise<void> {
    const image = await this.get(actor, id, 'manage');
    if (image.state === 'IMPORTING')
      throw new ServiceError(
        'REFUSED',
        'the image is still importing: cancel its operation instead',
        'input.id',
      );
    const users = await this.em.count(Vm, { image: id });
    if (users > 0 && !(force && actor.isAdmin)) {
      throw new ServiceError(
        'REFUSED',
        `${users} VMs use this image as their base; remove them first${actor.isAdmin ? ', or force it' : ''}`,
        'input.id',
      );
    }
    await this.em.nativeUpdate(Vm, { image: id }, { image: null });
    await this.em.nativeDelete(Permission, { resourceType: 'IMAGE', resourceId: id });
    this.em.remove(image);
    await this.em.flush();
    await this.deps.store.remove(id);
    await this.deps.cache.prune(id);
  }

  async share(actor: Actor, id: ImageId, userId: UserId, role: Role): Promise<Permission> {
    const { name } = await this.get(actor, id, 'manage');
    return this.permissions.share(actor, { type: 'IMAGE', id, name }, userId, role);
  }

  unshare(actor: Actor, id: ImageId, userId: UserId): Promise<void> {
    return this.permissions.unshare(actor, { type: 'IMAGE', id }, userId);
  }

  shares(actor: Actor, id: ImageId): Promise<Share[]> {
    return this.permissions.shares(actor, { type: 'IMAGE', id });
  }

  // Records the image (counted against the owner's images, and its bytes when they are known).
  private async create(
    actor: Actor,
    input: ImageInput,
    sourceUrl: string | null,
    sizeBytes: bigint | null,
  ): Promise<Image> {
    const name = checkLabel(input.name, 'an image name', 128);
    const description = checkDescription(input.description ?? '');
    const adds = { images: 1n, imageBytes: sizeBytes ?? 0n };
    return this.deps.quotas.reserve(actor.userId, adds, async () => {
      const image = this.em.create(Image, {
        name,
        description,
        owner: this.em.getReference(User, actor.userId),
        state: 'IMPORTING',
        sourceUrl,
        sizeBytes,
      });
      this.permissions.grantOwner(actor.userId, { type: 'IMAGE', id: image.id, name });
      await this.em.flush();
      return image;
    });
  }

  // Brings the bytes into `<id>.incoming` with `arrive`, checks them, moves them to their final
  // name and marks the image AVAILABLE; on any failure removes the files, the row and its roles.
  private async fill(
    id: ImageId,
    ctx: OperationContext | null,
    arrive: (dest: string) => Promise<{ bytes: bigint; sha512: string }>,
  ): Promise<void> {
    const store = this.deps.store;
    const em = this.em.fork();
    const incoming = store.incomingPath(id);
    try {
      const { bytes, sha512 } = await arrive(incoming);
      ctx?.progress(1, 'checking the image');
      const header = await readImageHeader(incoming);
      await rename(incoming, store.pathOf(id, header.format));
      const image = await em.findOneOrFail(Image, { id });
      // Bytes not known when the image was recorded count against its owner now.
      const adds = { imageBytes: image.sizeBytes === null ? bytes : 0n };
      await this.deps.quotas.reserve(image.owner.id as UserId, adds, async () => {
        em.assign(image, {
          state: 'AVAILABLE',
          format: header.format,
          sizeBytes: bytes,
          virtualSizeBytes: header.virtualSize,
          sha512,
        });
        await em.flush();
      });
    } catch (err) {
      await rm(incoming, { force: true });
      await store.remove(id);
      await em.nativeDelete(Permission, { resourceType: 'IMAGE', resourceId: id });
      await em.nativeDelete(Image, { id });
      throw err;
    }
  }
}

function checkSha512(hex: string): string {
  const h = hex.trim().toLowerCase();
  if (!/^[0-9a-f]{128}$/.test(h))
    throw new ServiceError('INVALID', 'a SHA-512 is 128 hexadecimal digits', 'input.sha512');
  return h;
}
