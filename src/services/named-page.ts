import type { EntityManager, EntityName, FilterQuery, QueryOrderMap } from '@mikro-orm/core';
import { containsPattern } from './text.ts';

/** Named is a row listed by name (images, VMs): its name, description and id. */
interface Named {
  readonly id: string;
  readonly name: string;
  readonly description: string;
}

/**
 * namedPage lists rows by name then id, a page after the cursor, filtered in SQL by `where`
 * and, given `text`, by name or description containing it.
 */
export async function namedPage<T extends Named>(
  em: EntityManager,
  entity: EntityName<T>,
  where: FilterQuery<T>[],
  q: { first: number; after?: { name: string; id: string }; text?: string },
): Promise<{ rows: T[]; hasNextPage: boolean }> {
  // MikroORM cannot check filters on Named's fields against a generic T, hence the casts.
  const and: FilterQuery<T>[] = [...where];
  if (q.text) {
    const like = containsPattern(q.text);
    and.push({
      $or: [{ name: { $like: like } }, { description: { $like: like } }],
    } as FilterQuery<T>);
  }
  if (q.after) {
    const { name, id } = q.after;
    and.push({ $or: [{ name: { $gt: name } }, { name, id: { $gt: id } }] } as FilterQuery<T>);
  }
  const rows = await em.find(entity, { $and: and } as FilterQuery<T>, {
    orderBy: [{ name: 'asc' }, { id: 'asc' }] as unknown as QueryOrderMap<T>[],
    limit: q.first + 1,
  });
  return { rows: rows.slice(0, q.first), hasNextPage: rows.length > q.first };
}
