import { ROLES } from '../entities/permission.ts';
import type { User } from '../entities/user.ts';
import type { Share } from '../services/permissions/permission-service.ts';
import { builder } from './builder.ts';
import { UserType } from './user.ts';
import { UserError, type UserErrorShape } from './user-errors.ts';

/** RoleEnum is a user's role on a VM or image. */
export const RoleEnum = builder.enumType('Role', {
  description:
    'OWNER may do everything, sharing and removing included; OPERATOR may use it (start, stop, console, snapshots; create VMs from an image); VIEWER may see it.',
  values: ROLES,
});

/** ShareType is one user's role on a resource; the user is shown to whoever may list shares. */
export const ShareType = builder.objectRef<Share>('Share').implement({
  fields: (t) => ({
    user: t.field({
      type: UserType,
      resolve: (s, _a, ctx) => {
        ctx.revealed.add(s.user.id);
        return s.user;
      },
    }),
    role: t.field({ type: RoleEnum, resolve: (s) => s.role }),
  }),
});

/** SharePayload answers a share or unshare. */
export const SharePayload = builder
  .objectRef<{ shares: Share[] | null; userErrors: UserErrorShape[] }>('SharePayload')
  .implement({
    fields: (t) => ({
      shares: t.field({
        type: [ShareType],
        nullable: true,
        description: 'Who has which role now.',
        resolve: (p) => p.shares,
      }),
      userErrors: t.field({ type: [UserError], resolve: (p) => p.userErrors }),
    }),
  });

/** revealOwner lets a resource's viewer see its owner's name and email. */
export function revealOwner(ctx: { revealed: Set<string> }, owner: User): User {
  ctx.revealed.add(owner.id);
  return owner;
}
