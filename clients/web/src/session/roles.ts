import type { Viewer } from './viewer.tsx';

/** Role is a user's role on a resource, as the API names it. */
export type Role = 'VIEWER' | 'OPERATOR' | 'OWNER';

const RANK: Record<Role, number> = { VIEWER: 1, OPERATOR: 2, OWNER: 3 };

/**
 * mayAct says whether the viewer may do what needs `needed` on a resource they hold `held`
 * on; admins may do everything. The API decides in the end: this only hides what it would
 * refuse.
 */
export function mayAct(viewer: Viewer, held: Role | null | undefined, needed: Role): boolean {
  return viewer.isAdmin || (held != null && RANK[held] >= RANK[needed]);
}
