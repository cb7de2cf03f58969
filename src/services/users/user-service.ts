import { randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/core';
import type { UserId } from '../../entities/ids.ts';
import { Image } from '../../entities/image.ts';
import { Permission } from '../../entities/permission.ts';
import { Quota } from '../../entities/quota.ts';
import { Session } from '../../entities/session.ts';
import { normalizeEmail, User } from '../../entities/user.ts';
import { Vm } from '../../entities/vm.ts';
import { type Actor, requireAdmin } from '../actor.ts';
import { hashPassword, type ScryptParams, verifyPassword } from '../auth/password.ts';
import { ServiceError } from '../errors.ts';
import type { QuotaLimits } from '../quotas/quota-service.ts';
import { containsPattern } from '../text.ts';

/** MIN_PASSWORD_LENGTH follows NIST SP 800-63B's minimum for chosen passwords. */
export const MIN_PASSWORD_LENGTH = 8;

/** UserChanges are what an update may set; admins alone may set email and isAdmin. */
export interface UserChanges {
  readonly name?: string;
  readonly email?: string;
  readonly isAdmin?: boolean;
  readonly password?: string;
  /** currentPassword must accompany a user's change of their own password. */
  readonly currentPassword?: string;
}

/** RemoveMode says what happens to what a removed user owns: refuse, delete it, or give it to someone. */
export type RemoveMode =
  | { readonly kind: 'REFUSE' }
  | { readonly kind: 'DELETE' }
  | { readonly kind: 'TRANSFER'; readonly to: UserId };

/** UserQuery filters the user list (case-insensitive substring of email or name). */
export interface UserQuery {
  readonly search?: string;
  readonly first: number;
  readonly after?: string;
}

/** UserService manages accounts: admins add, change and remove users; a user manages their own profile. */
export class UserService {
  private readonly em: EntityManager;
  private readonly scrypt: ScryptParams;
  private readonly quotaDefaults: QuotaLimits;

  constructor(em: EntityManager, scrypt: ScryptParams, quotaDefaults: QuotaLimits) {
    this.em = em;
    this.scrypt = scrypt;
    this.quotaDefaults = quotaDefaults;
  }

  /** get returns a user the actor may see: themself, or anyone for an admin. */
  async get(actor: Actor, id: UserId): Promise<User> {
    if (actor.userId !== id && !actor.isAdmin)
      throw new ServiceError('FORBIDDEN', 'users may only read their own account');
    const user = await this.em.findOne(User, { id });
    if (!user) throw new ServiceError('NOT_FOUND', `no user ${id}`, 'id');
    return user;
  }

  /**
   * idByEmail finds the user to share something with. Any signed-in user may ask, so it says no
   * more than whether the address has an account.
   */
  async idByEmail(email: string): Promise<UserId> {
    const user = await this.em.findOne(
      User,
      { email: email.trim().toLowerCase() },
      { fields: ['id'] },
    );
    if (!user) throw new ServiceError('NOT_FOUND', `no user has the email ${email}`, 'input.email');
    return user.id;
  }

  /** list returns users by email order, filtered; admins only. */
  async list(actor: Actor, q: UserQuery): Promise<{ users: User[]; hasNextPage: boolean }> {
    requireAdmin(actor, 'manage users');
    const like = q.search ? containsPattern(q.search.toLowerCase()) : null;
    const users = await this.em.find(
      User,
      {
        ...(like ? { $or: [{ email: { $like: like } }, { name: { $like: like } }] } : {}),
        ...(q.after ? { email: { $gt: q.after } } : {}),
      },
      { orderBy: { email: 'asc' }, limit: q.first + 1 },
    );
    return { users: users.slice(0, q.first), hasNextPage: users.length > q.first };
  }

  /** create adds a user; admins only. */
  async create(
    actor: Actor,
    input: { email: string; name: string; password: string; isAdmin?: boolean },
  ): Promise<User> {
    requireAdmin(actor, 'manage users');
    const email = checkEmail(input.email);
    checkPassword(input.password);
    if (await this.em.count(User, { email }))
      throw new ServiceError('CONFLICT', `a user with email ${email} exists`, 'input.email');
    const user = this.em.create(User, {
      email,
      name: input.name.trim() || email,
      passwordHash: await hashPassword(input.password, this.scrypt),
      isAdmin: input.isAdmin ?? false,
    });
    // A new user starts with the configured limits.
    if (Object.values(this.quotaDefaults).some((v) => v !== null))
      this.em.create(Quota, { user, ...this.quotaDefaults });
    await this.em.flush();
    return user;
  }

  /**
   * update changes a user. A user may change their own name and password (giving the current
   * one); admins may change anything but cannot remove their own admin flag (someone must stay
   * admin). A new password revokes every session of the user.
   */
  async update(actor: Actor, id: UserId, changes: UserChanges): Promise<User> {
    const user = await this.get(actor, id);
    const self = actor.userId === id;
    if (!actor.isAdmin && (changes.email !== undefined || changes.isAdmin !== undefined)) {
      throw new ServiceError('FORBIDDEN', 'only admins may change an email or the admin flag');
    }
    if (self && changes.isAdmin === false)
      throw new ServiceError(
        'REFUSED',
        'admins cannot remove their own admin flag',
        'input.isAdmin',
      );
    if (changes.email !== undefined) {
      const email = checkEmail(changes.email);
      if (email !== user.email && (await this.em.count(User, { email }))) {
        throw new ServiceError('CONFLICT', `a user with email ${email} exists`, 'input.email');
      }
      user.email = email;
    }
    if (changes.name !== undefined) user.name = changes.name.trim() || user.email;
    if (changes.isAdmin !== undefined) user.isAdmin = changes.isAdmin;
    if (changes.password !== undefined) {
      checkPassword(changes.password);
      if (self && !(await verifyPassword(changes.currentPassword ?? '', user.passwordHash))) {
        throw new ServiceError(
          'INVALID_CREDENTIALS',
          'the current password is wrong',
          'input.currentPassword',
        );
      }
      user.passwordHash = await hashPassword(changes.password, this.scrypt);
      user.passwordChangedAt = new Date();
      await revokeSessions(this.em, user.id);
    }
    await this.em.flush();
    return user;
  }

  /** remove deletes a user and their sessions; what they own is refused, deleted or transferred. */
  async remove(actor: Actor, id: UserId, mode: RemoveMode = { kind: 'REFUSE' }): Promise<void> {
    requireAdmin(actor, 'manage users');
    if (actor.userId === id)
      throw new ServiceError('REFUSED', 'admins cannot remove themselves', 'input.id');
    const user = await this.get(actor, id);
    const [vms, images] = await Promise.all([
      this.em.count(Vm, { owner: id }),
      this.em.count(Image, { owner: id }),
    ]);
    if (vms + images > 0 && mode.kind === 'REFUSE') {
      throw new ServiceError(
        'REFUSED',
        `${user.email} still owns ${vms} VMs and ${images} images: delete or transfer them`,
        'input.id',
      );
    }
    if (vms + images > 0 && mode.kind === 'DELETE') {
      // Deleting VMs and images frees their disks on hosts, which the VM service will do.
      throw new ServiceError(
        'REFUSED',
        'deleting owned VMs and images is not available yet: transfer them',
        'input.owned',
      );
    }
    await this.em.transactional(async (em) => {
      if (mode.kind === 'TRANSFER') await transferOwnership(em, id, mode.to);
      await revokeSessions(em, id);
      em.remove(em.getReference(User, id));
    });
  }

  /** ensureAdmin creates the first admin when no user exists; returns the generated password, if any. */
  async ensureAdmin(
    email: string,
    password: string | undefined,
  ): Promise<{ created: boolean; password: string | null }> {
    if ((await this.em.count(User, {})) > 0) return { created: false, password: null };
    const chosen = password ?? randomBytes(18).toString('base64url');
    checkPassword(chosen);
    this.em.create(User, {
      email: checkEmail(email),
      name: 'Administrator',
      passwordHash: await hashPassword(chosen, this.scrypt),
      isAdmin: true,
    });
    await this.em.flush();
    return { created: true, password: password === undefined ? chosen : null };
  }
}

// The new owner gets OWNER on everything the old one owned, keeping any role it already had
// only where that is OWNER already; the old owner's permissions go with the user (cascade).
async function transferOwnership(em: EntityManager, from: UserId, to: UserId): Promise<void> {
  if (from === to || !(await em.count(User, { id: to }))) {
    throw new ServiceError('INVALID', 'transfer to an existing, different user', 'input.mode.to');
  }
  await em.nativeUpdate(Vm, { owner: from }, { owner: to });
  await em.nativeUpdate(Image, { owner: from }, { owner: to });
  const owned = await em.find(Permission, { user: from, role: 'OWNER' });
  for (const perm of owned) {
    const existing = await em.findOne(Permission, {
      user: to,
      resourceType: perm.resourceType,
      resourceId: perm.resourceId,
    });
    if (existing) existing.role = 'OWNER';
    else
      em.create(Permission, {
        user: to,
        resourceType: perm.resourceType,
        resourceId: perm.resourceId,
        resourceName: perm.resourceName,
        role: 'OWNER',
      });
  }
  await em.flush();
}

/** revokeSessions ends every open session of a user, in the given unit of work. */
async function revokeSessions(em: EntityManager, userId: UserId): Promise<void> {
  await em.nativeUpdate(Session, { user: userId, revokedAt: null }, { revokedAt: new Date() });
}

function checkEmail(raw: string): string {
  const email = normalizeEmail(raw);
  if (!/^[^\s@]+@[^\s@]+$/.test(email) || email.length > 320) {
    throw new ServiceError(
      'INVALID',
      `not an email address: ${JSON.stringify(raw)}`,
      'input.email',
    );
  }
  return email;
}

function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new ServiceError(
      'INVALID',
      `a password needs at least ${MIN_PASSWORD_LENGTH} characters`,
      'input.password',
    );
  }
}
