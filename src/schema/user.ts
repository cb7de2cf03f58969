import { z } from 'zod';
import type { UserId } from '../entities/ids.ts';
import { User } from '../entities/user.ts';
import { audited } from './audited.ts';
import { builder } from './builder.ts';
import { connectionOf, decodeCursor, pageSize } from './connection.ts';
import { UserError, type UserErrorShape } from './user-errors.ts';

/** UserType is a person with an account. Only admins and the user themself may see one. */
export const UserType = builder.node(User, {
  name: 'User',
  id: { resolve: (u) => u.id },
  authScopes: (user, ctx) =>
    ctx.actor?.isAdmin === true || ctx.actor?.userId === user.id || ctx.revealed.has(user.id),
  loadOne: (id, ctx) => ctx.services.em.findOne(User, { id: id as UserId }),
  fields: (t) => ({
    email: t.exposeString('email'),
    name: t.exposeString('name'),
    isAdmin: t.exposeBoolean('isAdmin'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.queryFields((t) => ({
  viewer: t.field({
    type: UserType,
    nullable: true,
    description: 'The signed-in user, or null.',
    resolve: (_r, _a, ctx) =>
      ctx.actor ? ctx.services.em.findOne(User, { id: ctx.actor.userId }) : null,
  }),
  users: t.connection({
    type: UserType,
    authScopes: { admin: true },
    description: 'Users by email; `search` matches email or name. Admins only.',
    args: { search: t.arg.string({ required: false, validate: z.string().max(128) }) },
    resolve: async (_r, args, ctx) => {
      const { users, hasNextPage } = await ctx.services.users.list(
        ctx.actor as NonNullable<typeof ctx.actor>,
        {
          first: pageSize(args),
          ...(args.search ? { search: args.search } : {}),
          ...(decodeCursor(args.after) ? { after: decodeCursor(args.after) } : {}),
        },
      );
      return connectionOf(users, (u) => u.email, hasNextPage);
    },
  }),
}));

const UserPayload = builder
  .objectRef<{ user: User | null; userErrors: UserErrorShape[] }>('UserPayload')
  .implement({
    fields: (t) => ({
      user: t.field({ type: UserType, nullable: true, resolve: (p) => p.user }),
      userErrors: t.field({ type: [UserError], resolve: (p) => p.userErrors }),
    }),
  });

const RemovePayload = builder
  .objectRef<{ removedUserId: string | null; userErrors: UserErrorShape[] }>('UserRemovePayload')
  .implement({
    fields: (t) => ({
      removedUserId: t.globalID({
        nullable: true,
        resolve: (p) => (p.removedUserId ? { type: 'User', id: p.removedUserId } : null),
      }),
      userErrors: t.field({ type: [UserError], resolve: (p) => p.userErrors }),
    }),
  });

const UserCreateInput = builder.inputType('UserCreateInput', {
  fields: (t) => ({
    email: t.string({ validate: z.string().max(320) }),
    name: t.string({ required: false, validate: z.string().max(200) }),
    password: t.string({ validate: z.string().max(1024) }),
    isAdmin: t.boolean({ required: false }),
  }),
});

const UserUpdateInput = builder.inputType('UserUpdateInput', {
  fields: (t) => ({
    id: t.globalID({ for: UserType }),
    email: t.string({ required: false, validate: z.string().max(320) }),
    name: t.string({ required: false, validate: z.string().max(200) }),
    isAdmin: t.boolean({ required: false }),
    password: t.string({ required: false, validate: z.string().max(1024) }),
    currentPassword: t.string({ required: false, validate: z.string().max(1024) }),
  }),
});

const OwnedResources = builder.enumType('OwnedResources', {
  description: 'What happens to the VMs and images of a removed user.',
  values: ['REFUSE', 'DELETE', 'TRANSFER'] as const,
});

const UserRemoveInput = builder.inputType('UserRemoveInput', {
  fields: (t) => ({
    id: t.globalID({ for: UserType }),
    owned: t.field({ type: OwnedResources, required: false, defaultValue: 'REFUSE' }),
    transferTo: t.globalID({ for: UserType, required: false }),
  }),
});

builder.mutationFields((t) => ({
  userCreate: t.field({
    type: UserPayload,
    authScopes: { admin: true },
    args: { input: t.arg({ type: UserCreateInput }) },
    resolve: async (_r, { input }, ctx) => {
      const out = await audited(ctx, 'userCreate', { type: 'USER', idOf: (u: User) => u.id }, () =>
        ctx.services.users.create(ctx.actor as NonNullable<typeof ctx.actor>, {
          email: input.email,
          name: input.name ?? '',
          password: input.password,
          ...(input.isAdmin != null ? { isAdmin: input.isAdmin } : {}),
        }),
      );
      return { user: out.result, userErrors: out.userErrors };
    },
  }),
  userUpdate: t.field({
    type: UserPayload,
    authScopes: { signedIn: true },
    args: { input: t.arg({ type: UserUpdateInput }) },
    resolve: async (_r, { input }, ctx) => {
      const id = input.id.id as UserId;
      const out = await audited(ctx, 'userUpdate', { type: 'USER', id }, () =>
        ctx.services.users.update(ctx.actor as NonNullable<typeof ctx.actor>, id, {
          ...(input.email != null ? { email: input.email } : {}),
          ...(input.name != null ? { name: input.name } : {}),
          ...(input.isAdmin != null ? { isAdmin: input.isAdmin } : {}),
          ...(input.password != null ? { password: input.password } : {}),
          ...(input.currentPassword != null ? { currentPassword: input.currentPassword } : {}),
        }),
      );
      return { user: out.result, userErrors: out.userErrors };
    },
  }),
  userRemove: t.field({
    type: RemovePayload,
    authScopes: { admin: true },
    args: { input: t.arg({ type: UserRemoveInput }) },
    resolve: async (_r, { input }, ctx) => {
      const id = input.id.id as UserId;
      const mode =
        input.owned === 'TRANSFER'
          ? { kind: 'TRANSFER' as const, to: (input.transferTo?.id ?? '') as UserId }
          : { kind: input.owned ?? 'REFUSE' };
      const out = await audited(ctx, 'userRemove', { type: 'USER', id }, () =>
        ctx.services.users.remove(ctx.actor as NonNullable<typeof ctx.actor>, id, mode),
      );
      return {
        removedUserId: out.userErrors.length === 0 ? input.id.id : null,
        userErrors: out.userErrors,
      };
    },
  }),
}));
