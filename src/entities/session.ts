import { defineEntity, p } from '@mikro-orm/core';
import { newId, type SessionId } from './ids.ts';
import { User } from './user.ts';

/** SessionSchema maps Session to the `sessions` table. */
export const SessionSchema = defineEntity({
  name: 'Session',
  tableName: 'sessions',
  properties: {
    id: p
      .uuid()
      .$type<SessionId>()
      .primary()
      .onCreate(() => newId<SessionId>()),
    user: () => p.manyToOne(User).ref().deleteRule('cascade').index(),
    /** tokenHash is the hex SHA-256 of the bearer token; the token itself is never stored. */
    tokenHash: p.string().length(64).unique(),
    createdAt: p.datetime().onCreate(() => new Date()),
    expiresAt: p.datetime().index(),
    revokedAt: p.datetime().nullable(),
    lastUsedAt: p.datetime().onCreate(() => new Date()),
    /** address is the client's IP address at sign-in. */
    address: p.string().length(64).nullable(),
    userAgent: p.string().length(512).nullable(),
  },
});

/** Session is a signed-in client: a bearer token's hash, its owner and its lifetime. */
export class Session extends SessionSchema.class {}
SessionSchema.setClass(Session);
