import type { FilterQuery } from '@mikro-orm/core';
import DataLoader from 'dataloader';
import type { EntityManager } from '../../db/database.ts';
import type { ImageId, UserId, VmId } from '../../entities/ids.ts';
import { Permission, type ResourceType, type Role } from '../../entities/permission.ts';
import { User } from '../../entities/user.ts';
import type { Actor } from '../actor.ts';
import { ServiceError } from '../errors.ts';

/** Resource names one VM or image. */
export interface Resource {
  readonly type: ResourceType;
  readonly id: VmId | ImageId;
}

/** NamedResource is a resource with its name, which a grant on it keeps for listing by name. */
export interface NamedResource extends Resource {
  readonly name: string;
}

/**
 * Access is what an operation needs: `view` (read it; VIEWER), `use` (start, stop, console;
 * create VMs from an image; OPERATOR), `manage` (change, share, delete; OWNER).
 */
export type Access = 'view' | 'use' | 'manage';

const NEEDS: Record<Access, number> = { view: 1, use: 2, manage: 3 };
const RANK: Record<Role, number> = { VIEWER: 1, OPERATOR: 2, OWNER: 3 };

/** Share is one user's role on a resource. */
export interface Share {
  readonly user: User;
  readonly role: Role;
}

/**
 * PermissionService decides who may do what with VMs and images. Admins may do everything;
 * others need a role on the resource. Role look-ups of one request are batched into one query
 * per resource type, and list queries filter in SQL rather than after loading.
 */
/** VISIBLE_LIST_MAX is how many ids visibleIds gives as a list before it uses a sub-select. */
const VISIBLE_LIST_MAX = 5000;

export class PermissionService {
  private readonly em: EntityManager;
  private readonly roles: DataLoader<string, Role | null>;

  constructor(em: EntityManager) {
    this.em = em;
    this.roles = new DataLoader((keys) => this.loadRoles(keys));
  }

  /** roleOf is the actor's own role on the resource, or null (admins included: see can). */
  roleOf(actor: Actor, r: Resource): Promise<Role | null> {
    return this.roles.load(`${actor.userId}|${r.type}|${r.id}`);
  }

  /** prime keeps a role the caller has read with the resource, so checks on it ask nothing. */
  prime(actor: Actor, r: Resource, role: Role): void {
    this.roles.prime(`${actor.userId}|${r.type}|${r.id}`, role);
  }

  /** can says whether the actor may act on the resource. */
  async can(actor: Actor, r: Resource, access: Access): Promise<boolean> {
    if (actor.isAdmin) return true;
    const role = await this.roleOf(actor, r);
    return role !== null && RANK[role] >= NEEDS[access];
  }

  /**
   * require throws unless the actor may act. Someone with no role at all is told the resource
   * does not exist (NOT_FOUND), so ids cannot be probed; someone who may see it but not do
   * this is told FORBIDDEN.
   */
  async require(actor: Actor, r: Resource, access: Access): Promise<void> {
    if (await this.can(actor, r, access)) return;
    if ((await this.roleOf(actor, r)) === null)
      throw new ServiceError('NOT_FOUND', `no ${r.type.toLowerCase()} ${r.id}`, 'id');
    throw new ServiceError(
      'FORBIDDEN',
      `this needs the ${access === 'use' ? 'OPERATOR' : 'OWNER'} role on the ${r.type.toLowerCase()}`,
    );
  }

  /** grantOwner gives a resource's creator OWNER (in the caller's unit of work). */
  grantOwner(userId: UserId, r: NamedResource): Permission {
    return this.em.create(Permission, {
      user: this.em.getReference(User, userId),
      resourceType: r.type,
      resourceId: r.id,
      resourceName: r.name,
      role: 'OWNER',
    });
  }

  /** share gives a user a role on the resource, or changes it; owners and admins only. */
  async share(actor: Actor, r: NamedResource, userId: UserId, role: Role): Promise<Permission> {
    await this.require(actor, r, 'manage');
    const user = await this.em.findOne(User, { id: userId });
    if (!user) throw new ServiceError('NOT_FOUND', `no user ${userId}`, 'input.user');
    const existing = await this.em.findOne(Permission, {
      user: userId,
      resourceType: r.type,
      resourceId: r.id,
    });
    if (existing?.role === 'OWNER' && role !== 'OWNER') await this.keepAnOwner(r, userId);
    const perm =
      existing ??
      this.em.create(Permission, {
        user,
        resourceType: r.type,
        resourceId: r.id,
        resourceName: r.name,
        role,
      });
    perm.role = role;
    await this.em.flush();
    this.roles.clearAll();
    return perm;
  }

  /** unshare takes a user's role away; a resource always keeps at least one owner. */
  async unshare(actor: Actor, r: Resource, userId: UserId): Promise<void> {
    await this.require(actor, r, 'manage');
    const perm = await this.em.findOne(Permission, {
      user: userId,
      resourceType: r.type,
      resourceId: r.id,
    });
    if (!perm) throw new ServiceError('NOT_FOUND', 'that user has no role on it', 'input.user');
    if (perm.role === 'OWNER') await this.keepAnOwner(r, userId);
    this.em.remove(perm);
    await this.em.flush();
    this.roles.clearAll();
  }

  /** shares lists who has which role on the resource; owners and admins only. */
  async shares(actor: Actor, r: Resource): Promise<Share[]> {
    await this.require(actor, r, 'manage');
    const perms = await this.em.find(
      Permission,
      { resourceType: r.type, resourceId: r.id },
      { populate: ['user'], orderBy: { createdAt: 'asc' } },
    );
    return perms.map((p) => ({ user: p.user.getEntity(), role: p.role }));
  }

  /**
   * visibleIds is a filter on a resource table's `id` that keeps the rows the actor may view
   * (admins: no filter). The actor's ids are read first and given as a list: as a sub-select,
   * PostgreSQL walks the table's name index probing permissions row by row, and a user whose
   * resources sort last among 100,000 waited 300 ms for a page. Past VISIBLE_LIST_MAX ids the
   * sub-select is used after all, rather than a list too long for one statement. The roles
   * read are kept for the request, so the rows listed need no second look-up. For lists that
   * also show rows granted to no one (public images); a list of granted rows alone walks the
   * grants instead (grantedRows, named-page.ts).
   */
  async visibleIds<T extends { id: VmId | ImageId }>(
    actor: Actor,
    type: ResourceType,
  ): Promise<FilterQuery<T>> {
    if (actor.isAdmin) return {};
    const granted = () =>
      this.em
        .createQueryBuilder(Permission, 'perm')
        .select('perm.resourceId')
        .where({ user: actor.userId, resourceType: type });
    const rows = await granted()
      .addSelect('perm.role')
      .limit(VISIBLE_LIST_MAX + 1)
      .execute<Array<{ resourceId: VmId | ImageId; role: Role }>>('all');
    // TypeScript cannot see that every T has an `id` column to filter; the constraint says so.
    if (rows.length > VISIBLE_LIST_MAX) return { id: { $in: granted() } } as FilterQuery<T>;
    for (const r of rows) this.prime(actor, { type, id: r.resourceId }, r.role);
    return { id: { $in: rows.map((r) => r.resourceId) } } as unknown as FilterQuery<T>;
  }

  private async keepAnOwner(r: Resource, leaving: UserId): Promise<void> {
    const owners = await this.em.count(Permission, {
      resourceType: r.type,
      resourceId: r.id,
      role: 'OWNER',
      user: { $ne: leaving },
    });
    if (owners === 0)
      throw new ServiceError(
        'REFUSED',
        'a resource must keep at least one owner: make someone else OWNER first',
        'input.role',
      );
  }

  // Keys come in batches of one user's checks on one kind of resource (a page of VMs): one
  // `in` list per user and kind, read as plain rows (hydrating them cost more than the query).
  private async loadRoles(keys: readonly string[]): Promise<Array<Role | null>> {
    const groups = new Map<string, string[]>();
    for (const k of keys) {
      const at = k.lastIndexOf('|');
      const group = k.slice(0, at);
      const ids = groups.get(group) ?? [];
      ids.push(k.slice(at + 1));
      groups.set(group, ids);
    }
    const byKey = new Map<string, Role>();
    for (const [group, ids] of groups) {
      const [user, resourceType] = group.split('|') as [UserId, ResourceType];
      const rows = await this.em
        .createQueryBuilder(Permission, 'perm')
        .select(['resourceId', 'role'])
        .where({ user, resourceType, resourceId: { $in: ids as Array<VmId | ImageId> } })
        .execute<Array<{ resourceId: string; role: Role }>>('all');
      for (const r of rows) byKey.set(`${group}|${r.resourceId}`, r.role);
    }
    return keys.map((k) => byKey.get(k) ?? null);
  }
}

/**
 * renameGrants records a resource's new name on its grants, in `em`: the transaction that
 * renames the resource, so that lists by name and the rows never disagree.
 */
export async function renameGrants(em: EntityManager, r: NamedResource): Promise<void> {
  await em.nativeUpdate(
    Permission,
    { resourceType: r.type, resourceId: r.id },
    { resourceName: r.name },
  );
}
