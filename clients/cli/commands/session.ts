import { graphql } from '../../graphql/graphql.ts';
import { done, item, table } from '../output/output.ts';
import type { CommandSpec } from './command.ts';

const SIGN_IN = graphql(`mutation SignIn($email: String!, $password: String!) {
  sessionCreate(input: { email: $email, password: $password }) {
    token user { id email isAdmin } userErrors { code field message } } }`);
const SIGN_OUT = graphql(`mutation SignOut {
  sessionDelete { userErrors { code field message } } }`);
const VIEWER = graphql('query Viewer { viewer { id email name isAdmin } }');

/** The commands about who is signed in where: login, logout, whoami, contexts. */
export const sessionCommands: readonly CommandSpec[] = [
  {
    words: ['login'],
    summary:
      'Sign in and save the session in the current context (or --context); asks for the password when it is left out.',
    args: [
      { name: 'email', description: 'Your account' },
      {
        name: 'password',
        description: 'Better typed at the prompt than kept in history',
        optional: true,
      },
    ],
    async run(ctx, input) {
      const email = input.arg('email');
      const password =
        input.optionalArg('password') ?? (await ctx.terminal.ask('Password: ', { secret: true }));
      const api = ctx.session.anonymous();
      const out = await api.mutate(SIGN_IN, { email, password }, 'sessionCreate');
      await ctx.session.signedIn(api.server, email, out.token as string);
      const who = out.user;
      return done(
        `signed in to ${api.server} as ${email} (context ${ctx.session.selection.name})`,
        {
          context: ctx.session.selection.name,
          server: api.server,
          id: who?.id ?? null,
          email,
          isAdmin: who?.isAdmin ?? false,
        },
      );
    },
  },
  {
    words: ['logout'],
    summary: 'End the session on the server and forget its token.',
    async run(ctx) {
      const api = ctx.session.api();
      await api.mutate(SIGN_OUT, {}, 'sessionDelete').catch(() => undefined);
      await ctx.session.signedOut();
      return done(`signed out of ${api.server}`);
    },
  },
  {
    words: ['whoami'],
    summary: 'Show who is signed in, where.',
    async run(ctx) {
      const { viewer } = await ctx.session.api().request(VIEWER, {});
      return item(
        [
          { key: 'email', header: 'User' },
          { key: 'name', header: 'Name' },
          { key: 'isAdmin', header: 'Admin', format: (v) => (v ? 'yes' : 'no') },
          { key: 'server', header: 'Server' },
          { key: 'context', header: 'Context' },
        ],
        {
          id: viewer?.id ?? null,
          email: viewer?.email ?? null,
          name: viewer?.name ?? null,
          isAdmin: viewer?.isAdmin ?? false,
          server: ctx.session.selection.server,
          context: ctx.session.selection.name,
        },
      );
    },
  },
  {
    words: ['context', 'ls'],
    aliases: ['list'],
    summary: 'List the saved contexts (servers and who is signed in there); * marks the current.',
    async run(ctx) {
      const { current, contexts } = ctx.session.saved;
      return table(
        [
          { key: 'current', header: '', format: (v) => (v ? '*' : '') },
          { key: 'name', header: 'Context' },
          { key: 'server', header: 'Server' },
          { key: 'user', header: 'User' },
          { key: 'signedIn', header: 'Signed in', format: (v) => (v ? 'yes' : 'no') },
        ],
        Object.entries(contexts).map(([name, c]) => ({
          current: name === current,
          name,
          server: c.server,
          user: c.user,
          signedIn: c.token !== null,
        })),
      );
    },
  },
  {
    words: ['context', 'use'],
    summary: 'Make a saved context the current one.',
    args: [{ name: 'name', description: 'A context from `context ls`', complete: 'context' }],
    async run(ctx, input) {
      await ctx.session.use(input.arg('name'));
      return done(`using context ${input.arg('name')} (${ctx.session.selection.server})`);
    },
  },
];
