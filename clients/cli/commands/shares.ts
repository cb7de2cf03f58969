import type { Api } from '../api/api.ts';
import { CliError } from '../api/cli-error.ts';
import { done, table } from '../output/output.ts';
import { resolveRef } from '../resources/refs.ts';
import type { CommandSpec } from './command.ts';

const ROLES = ['VIEWER', 'OPERATOR', 'OWNER'] as const;
type Role = (typeof ROLES)[number];

/** ShareApi is how one kind of resource lists, grants and takes back roles. */
export interface ShareApi {
  list(
    api: Api,
    id: string,
  ): Promise<ReadonlyArray<{ role: Role; user: { email: string; name: string | null } }>>;
  share(api: Api, input: { id: string; email: string; role: Role }): Promise<void>;
  unshare(api: Api, input: { id: string; email: string }): Promise<void>;
}

/**
 * shareCommands are `<noun> shares|share|unshare` for VMs and images: the same roles (VIEWER
 * sees, OPERATOR also runs, OWNER also changes and shares), granted by email.
 */
export function shareCommands(noun: 'vm' | 'image', ops: ShareApi): CommandSpec[] {
  const target = { name: noun, description: 'Name or id', complete: noun } as const;
  const a = noun === 'vm' ? 'a VM' : 'an image';
  return [
    {
      words: [noun, 'shares'],
      summary: `List who has a role on ${a}.`,
      args: [target],
      async run(ctx, input) {
        const api = ctx.api();
        const shares = await ops.list(api, await resolveRef(api, noun, input.arg(noun)));
        return table(
          [
            { key: 'email', header: 'User' },
            { key: 'name', header: 'Name' },
            { key: 'role', header: 'Role' },
          ],
          shares.map((s) => ({ email: s.user.email, name: s.user.name, role: s.role })),
        );
      },
    },
    {
      words: [noun, 'share'],
      summary: `Give someone a role on ${a}: VIEWER (the default), OPERATOR or OWNER.`,
      args: [
        target,
        { name: 'email', description: 'Who', complete: 'user' },
        { name: 'role', description: 'VIEWER, OPERATOR or OWNER', optional: true },
      ],
      async run(ctx, input) {
        const role = (input.optionalArg('role') ?? 'VIEWER').toUpperCase();
        if (!ROLES.includes(role as Role))
          throw new CliError('USAGE', `the role is one of ${ROLES.join(', ')}`);
        const api = ctx.api();
        const id = await resolveRef(api, noun, input.arg(noun));
        const email = input.arg('email');
        await ops.share(api, { id, email, role: role as Role });
        return done(`${email} is ${role} of ${noun} ${input.arg(noun)}`, { id, email, role });
      },
    },
    {
      words: [noun, 'unshare'],
      summary: `Take someone’s role on ${a} away.`,
      args: [target, { name: 'email', description: 'Who', complete: 'user' }],
      async run(ctx, input) {
        const api = ctx.api();
        const id = await resolveRef(api, noun, input.arg(noun));
        const email = input.arg('email');
        await ops.unshare(api, { id, email });
        return done(`${email} has no role on ${noun} ${input.arg(noun)} now`, { id, email });
      },
    },
  ];
}
