import { graphql } from '../../graphql/graphql.ts';
import { CliError } from '../api/cli-error.ts';
import { ago } from '../output/format.ts';
import { type Column, done, table } from '../output/output.ts';
import { shortId } from '../resources/ids.ts';
import { allPages, PAGE } from '../resources/pages.ts';
import { resolveRef } from '../resources/refs.ts';
import type { CommandSpec } from './command.ts';

const USERS = graphql(`query Users($search: String, $after: String, $first: Int!) {
  users(search: $search, first: $first, after: $after) {
    edges { node { id email name isAdmin createdAt } }
    pageInfo { hasNextPage endCursor } } }`);
const CREATE = graphql(`mutation UserCreate($input: UserCreateInput!) {
  userCreate(input: $input) { user { id email name isAdmin createdAt } userErrors { code field message } } }`);
const UPDATE = graphql(`mutation UserUpdate($input: UserUpdateInput!) {
  userUpdate(input: $input) { user { id email name isAdmin createdAt } userErrors { code field message } } }`);
const VIEWER = graphql('query ViewerId { viewer { id email } }');
const REMOVE = graphql(`mutation UserRemove($input: UserRemoveInput!) {
  userRemove(input: $input) { userErrors { code field message } } }`);

const COLUMNS: readonly Column[] = [
  { key: 'id', header: 'ID', format: (v) => shortId(String(v)) },
  { key: 'email', header: 'Email' },
  { key: 'name', header: 'Name' },
  { key: 'isAdmin', header: 'Admin', format: (v) => (v ? 'yes' : '') },
  { key: 'createdAt', header: 'Created', format: (v) => ago(v as string) },
];

/** The commands about accounts (admins only on the server). */
export const userCommands: readonly CommandSpec[] = [
  {
    words: ['user', 'list'],
    aliases: ['ls'],
    summary: 'List users; the query matches email or name.',
    args: [{ name: 'query', description: 'Text to look for', optional: true }],
    async run(ctx, input) {
      const api = ctx.api();
      const search = input.optionalArg('query') ?? null;
      const users = await allPages(
        async (after) => (await api.request(USERS, { search, after, first: PAGE })).users,
      );
      return table(COLUMNS, users);
    },
  },
  {
    words: ['user', 'add'],
    aliases: ['create'],
    summary: 'Create a user (give --admin to make an admin).',
    args: [
      { name: 'email', description: 'Their sign-in' },
      { name: 'password', description: 'At least 10 characters' },
    ],
    options: [
      { name: 'name', value: 'name', description: 'Their display name' },
      { name: 'admin', description: 'Make them an admin' },
    ],
    async run(ctx, input) {
      const out = await ctx.api().mutate(
        CREATE,
        {
          input: {
            email: input.arg('email'),
            password: input.arg('password'),
            name: input.option('name') ?? null,
            isAdmin: input.flag('admin'),
          },
        },
        'userCreate',
      );
      const user = out.user as NonNullable<typeof out.user>;
      return done(`created user ${user.email} (${shortId(user.id)})`, user);
    },
  },
  {
    words: ['user', 'set'],
    summary:
      'Change a user’s name, email or admin role (your own name and email, or anyone’s as an admin).',
    args: [{ name: 'user', description: 'Email or id', complete: 'user' }],
    options: [
      { name: 'name', value: 'name', description: 'Their display name' },
      { name: 'email', value: 'email', description: 'Their new sign-in' },
      { name: 'admin', description: 'Make them an admin' },
      { name: 'no-admin', description: 'Make them an ordinary user' },
    ],
    async run(ctx, input) {
      const api = ctx.api();
      if (input.flag('admin') && input.flag('no-admin'))
        throw new CliError('USAGE', 'give --admin or --no-admin, not both');
      const id = await resolveRef(api, 'user', input.arg('user'));
      const out = await api.mutate(
        UPDATE,
        {
          input: {
            id,
            name: input.option('name') ?? null,
            email: input.option('email') ?? null,
            isAdmin: input.flag('admin') ? true : input.flag('no-admin') ? false : null,
          },
        },
        'userUpdate',
      );
      const user = out.user as NonNullable<typeof out.user>;
      return done(`updated user ${user.email}`, user);
    },
  },
  {
    words: ['passwd'],
    summary: 'Change your password: asks for the current one and the new one twice.',
    async run(ctx) {
      const api = ctx.api();
      const { viewer } = await api.request(VIEWER, {});
      if (!viewer) throw new CliError('AUTH', 'not signed in', { hint: 'run `kumo login`' });
      const currentPassword = await ctx.terminal.ask('Current password: ', { secret: true });
      const password = await ctx.terminal.ask('New password: ', { secret: true });
      if ((await ctx.terminal.ask('New password again: ', { secret: true })) !== password)
        throw new CliError('USAGE', 'the new passwords differ; nothing was changed');
      await api.mutate(
        UPDATE,
        { input: { id: viewer.id, password, currentPassword } },
        'userUpdate',
      );
      return done(`changed the password of ${viewer.email}`, { id: viewer.id });
    },
  },
  {
    words: ['user', 'rm'],
    aliases: ['remove'],
    summary:
      'Remove a user. What they own is refused by default: --transfer-to gives it to someone, --delete-owned deletes it.',
    args: [{ name: 'user', description: 'Email or id', complete: 'user' }],
    options: [
      {
        name: 'transfer-to',
        value: 'user',
        description: 'Who gets their VMs and images',
        complete: 'user',
      },
      { name: 'delete-owned', description: 'Delete their VMs and images' },
    ],
    async run(ctx, input) {
      const api = ctx.api();
      const to = input.option('transfer-to');
      if (to && input.flag('delete-owned'))
        throw new CliError('USAGE', 'give --transfer-to or --delete-owned, not both');
      const id = await resolveRef(api, 'user', input.arg('user'));
      await api.mutate(
        REMOVE,
        {
          input: {
            id,
            owned: to ? 'TRANSFER' : input.flag('delete-owned') ? 'DELETE' : 'REFUSE',
            transferTo: to ? await resolveRef(api, 'user', to) : null,
          },
        },
        'userRemove',
      );
      return done(`removed user ${input.arg('user')}`, { id });
    },
  },
];
