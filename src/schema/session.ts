import { z } from 'zod';
import type { SessionId } from '../entities/ids.ts';
import { Session } from '../entities/session.ts';
import type { User } from '../entities/user.ts';
import { audited } from './audited.ts';
import { builder } from './builder.ts';
import { UserType } from './user.ts';
import { UserError, type UserErrorShape } from './user-errors.ts';

/** SessionType is one signed-in client of a user: visible to that user and to admins. */
export const SessionType = builder.node(Session, {
  name: 'Session',
  id: { resolve: (s) => s.id },
  authScopes: (s, ctx) =>
    ctx.actor?.isAdmin === true || ctx.actor?.userId === s.user.id || ctx.revealed.has(s.id),
  loadOne: (id, ctx) => ctx.services.em.findOne(Session, { id: id as SessionId }),
  fields: (t) => ({
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime' }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime' }),
    address: t.exposeString('address', { nullable: true }),
    userAgent: t.exposeString('userAgent', { nullable: true }),
    current: t.boolean({ resolve: (s, _a, ctx) => ctx.actor?.sessionId === s.id }),
  }),
});

interface SignedIn {
  readonly token: string;
  readonly session: Session;
  readonly user: User;
}

const SessionCreatePayload = builder
  .objectRef<{ signedIn: SignedIn | null; userErrors: UserErrorShape[] }>('SessionCreatePayload')
  .implement({
    fields: (t) => ({
      token: t.string({
        nullable: true,
        description:
          'The bearer token: send it as `Authorization: Bearer <token>` (or `authorization` in the WebSocket connection params). Shown once.',
        resolve: (p) => p.signedIn?.token ?? null,
      }),
      session: t.field({
        type: SessionType,
        nullable: true,
        resolve: (p) => p.signedIn?.session ?? null,
      }),
      user: t.field({ type: UserType, nullable: true, resolve: (p) => p.signedIn?.user ?? null }),
      userErrors: t.field({ type: [UserError], resolve: (p) => p.userErrors }),
    }),
  });

const SessionDeletePayload = builder
  .objectRef<{ deletedSessionId: string | null; userErrors: UserErrorShape[] }>(
    'SessionDeletePayload',
  )
  .implement({
    fields: (t) => ({
      deletedSessionId: t.globalID({
        nullable: true,
        resolve: (p) => (p.deletedSessionId ? { type: 'Session', id: p.deletedSessionId } : null),
      }),
      userErrors: t.field({ type: [UserError], resolve: (p) => p.userErrors }),
    }),
  });

const SessionCreateInput = builder.inputType('SessionCreateInput', {
  fields: (t) => ({
    email: t.string({ validate: z.string().max(320) }),
    password: t.string({ validate: z.string().max(1024) }),
  }),
});

const SessionDeleteInput = builder.inputType('SessionDeleteInput', {
  fields: (t) => ({
    id: t.globalID({
      for: SessionType,
      required: false,
      description: 'The session to end; the current one when absent.',
    }),
  }),
});

builder.mutationFields((t) => ({
  sessionCreate: t.field({
    type: SessionCreatePayload,
    description: 'Sign in with an email and password.',
    args: { input: t.arg({ type: SessionCreateInput }) },
    resolve: async (_r, { input }, ctx) => {
      const out = await audited(
        ctx,
        'sessionCreate',
        { type: 'SESSION', idOf: (s: SignedIn) => s.session.id },
        () => ctx.services.auth.signIn(input.email, input.password, ctx.request),
      );
      // The caller is still anonymous, but has just proved the password: they may see whom they signed in as.
      if (out.result) {
        ctx.revealed.add(out.result.user.id);
        ctx.revealed.add(out.result.session.id);
        ctx.request.cookies.setSession(out.result.token, out.result.session.expiresAt);
      }
      return { signedIn: out.result, userErrors: out.userErrors };
    },
  }),
  sessionDelete: t.field({
    type: SessionDeletePayload,
    authScopes: { signedIn: true },
    description: 'Sign out: end the current session, or another one of yours.',
    args: { input: t.arg({ type: SessionDeleteInput, required: false }) },
    resolve: async (_r, { input }, ctx) => {
      const actor = ctx.actor as NonNullable<typeof ctx.actor>;
      const id = (input?.id?.id ?? actor.sessionId) as SessionId;
      const out = await audited(ctx, 'sessionDelete', { type: 'SESSION', id }, () =>
        ctx.services.auth.signOut(actor, id),
      );
      if (out.userErrors.length === 0 && id === actor.sessionId) ctx.request.cookies.clearSession();
      return {
        deletedSessionId: out.userErrors.length === 0 ? id : null,
        userErrors: out.userErrors,
      };
    },
  }),
}));
