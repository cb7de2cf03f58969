import type { EntityManager } from '@mikro-orm/core';
import type { SessionId } from '../../entities/ids.ts';
import { Session } from '../../entities/session.ts';
import { normalizeEmail, User } from '../../entities/user.ts';
import type { RequestInfo } from '../../server/context.ts';
import type { Actor } from '../actor.ts';
import { ServiceError } from '../errors.ts';
import { hashPassword, type ScryptParams, verifyPassword } from './password.ts';
import type { RateLimiter } from './rate-limit.ts';
import { hashToken, newToken } from './tokens.ts';

/** SignInLimits are the two shared limiters: per account and per address. */
export interface SignInLimits {
  readonly byAccount: RateLimiter;
  readonly byAddress: RateLimiter;
}

/** AuthSettings are the process-wide parts of authentication. */
export interface AuthSettings {
  readonly limits: SignInLimits;
  readonly sessionTtlSeconds: number;
  readonly scrypt: ScryptParams;
  /** decoyHash is verified against when the account does not exist, so timing does not tell. */
  readonly decoyHash: string;
}

/** makeAuthSettings prepares the shared settings (the decoy hash costs one hash at start). */
export async function makeAuthSettings(
  limits: SignInLimits,
  sessionTtlSeconds: number,
  scrypt: ScryptParams,
): Promise<AuthSettings> {
  return { limits, sessionTtlSeconds, scrypt, decoyHash: await hashPassword('decoy', scrypt) };
}

// Writing lastUsedAt on every request would turn reads into writes; once a minute is enough.
const LAST_USED_GRANULARITY_MS = 60_000;

/** AuthService signs people in and out and turns a bearer token into an Actor. */
export class AuthService {
  private readonly em: EntityManager;
  private readonly settings: AuthSettings;

  constructor(em: EntityManager, settings: AuthSettings) {
    this.em = em;
    this.settings = settings;
  }

  /**
   * signIn checks an email and password and opens a session. An unknown email and a wrong
   * password get the same answer after the same work. After too many failures for one account
   * or from one address, attempts are refused for a while, whether or not the password is right.
   */
  async signIn(
    email: string,
    password: string,
    request: RequestInfo,
  ): Promise<{ token: string; session: Session; user: User }> {
    const account = normalizeEmail(email);
    const keys = [
      [this.settings.limits.byAccount, `account:${account}`],
      [this.settings.limits.byAddress, `address:${request.address}`],
    ] as const;
    for (const [limiter, key] of keys) {
      const d = await limiter.check(key);
      if (!d.allowed) {
        throw new ServiceError(
          'RATE_LIMITED',
          `too many failed sign-ins; try again in ${d.retryAfterSeconds} s`,
        );
      }
    }
    const user = await this.em.findOne(User, { email: account });
    const ok = await verifyPassword(password, user?.passwordHash ?? this.settings.decoyHash);
    if (!user || !ok) {
      await Promise.all(keys.map(([limiter, key]) => limiter.fail(key)));
      throw new ServiceError('INVALID_CREDENTIALS', 'wrong email or password');
    }
    await this.settings.limits.byAccount.reset(`account:${account}`);
    const { token, hash } = newToken();
    const session = this.em.create(Session, {
      user,
      tokenHash: hash,
      expiresAt: new Date(Date.now() + this.settings.sessionTtlSeconds * 1000),
      address: request.address.slice(0, 64),
      userAgent: request.userAgent.slice(0, 512) || null,
    });
    await this.em.flush();
    return { token, session, user };
  }

  /** authenticate returns the Actor a token stands for, or null if it is unknown, revoked or expired. */
  async authenticate(token: string | null, address: string): Promise<Actor | null> {
    if (!token) return null;
    const session = await this.em.findOne(
      Session,
      { tokenHash: hashToken(token) },
      { populate: ['user'] },
    );
    const now = Date.now();
    if (!session || session.revokedAt || session.expiresAt.getTime() <= now) return null;
    const user = session.user.getEntity();
    if (now - session.lastUsedAt.getTime() > LAST_USED_GRANULARITY_MS) {
      session.lastUsedAt = new Date(now);
      await this.em.flush();
    }
    return { userId: user.id, sessionId: session.id, isAdmin: user.isAdmin, address };
  }

  /**
   * current is the actor as its session stands now (for something that outlives the request,
   * like a console): null once the session is revoked or expired.
   */
  async current(actor: Actor): Promise<Actor | null> {
    const session = await this.em.findOne(
      Session,
      { id: actor.sessionId },
      { populate: ['user'], refresh: true },
    );
    if (!session || session.revokedAt || session.expiresAt.getTime() <= Date.now()) return null;
    return { ...actor, isAdmin: session.user.getEntity().isAdmin };
  }

  /** signOut revokes one of the actor's sessions (the current one by default). */
  async signOut(actor: Actor, sessionId: SessionId = actor.sessionId): Promise<void> {
    const session = await this.em.findOne(Session, { id: sessionId });
    if (!session || (session.user.id !== actor.userId && !actor.isAdmin)) {
      throw new ServiceError('NOT_FOUND', 'no such session', 'input.id');
    }
    session.revokedAt ??= new Date();
    await this.em.flush();
  }
}
