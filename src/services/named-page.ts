import type { EntityName, FilterQuery, QueryOrderMap } from '@mikro-orm/core';
import type { QBFilterQuery } from '@mikro-orm/sql';
import type { EntityManager } from '../db/database.ts';
import { containsPattern } from './text.ts';

/** Named is a row listed by name (images, VMs): its name, description and id. */
interface Named {
  readonly id: string;
  readonly name: string;
  readonly description: string;
}

/** PageQuery is a page after the cursor, optionally of rows whose name or description contains `text`. */
export interface PageQuery {
  readonly first: number;
  readonly after?: { name: string; id: string };
  readonly text?: string;
}

const BY_NAME = [{ name: 'asc' }, { id: 'asc' }];

/**
 * namedPage lists entities by name then id, a page after the cursor, filtered in SQL by
 * `where` and, given `text`, by name or description containing it.
 */
export async function namedPage<T extends Named>(
  em: EntityManager,
  entity: EntityName<T>,
  where: FilterQuery<T>[],
  q: PageQuery,
): Promise<{ rows: T[]; hasNextPage: boolean }> {
  const rows = await em.find(entity, pageWhere(where, q), {
    orderBy: BY_NAME as unknown as QueryOrderMap<T>[],
    limit: q.first + 1,
  });
  return { rows: rows.slice(0, q.first), hasNextPage: rows.length > q.first };
}

/**
 * namedRows is namedPage read as plain rows of `columns` (property names; relations as their
 * ids), for lists that show what they read without a unit of work.
 */
export async function namedRows<T extends Named>(
  em: EntityManager,
  entity: EntityName<T>,
  columns: readonly string[],
  where: FilterQuery<T>[],
  q: PageQuery,
): Promise<{ rows: Array<Record<string, unknown>>; hasNextPage: boolean }> {
  const rows = await em
    .createQueryBuilder(entity)
    .select([...columns] as never)
    .where(pageWhere(where, q) as QBFilterQuery<T>)
    .orderBy(BY_NAME as unknown as QueryOrderMap<T>[])
    .limit(q.first + 1)
    .execute<Array<Record<string, unknown>>>('all');
  return { rows: rows.slice(0, q.first), hasNextPage: rows.length > q.first };
}

// MikroORM cannot check filters on Named's fields against a generic T, hence the casts.
function pageWhere<T extends Named>(where: FilterQuery<T>[], q: PageQuery): FilterQuery<T> {
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
  return { $and: and } as FilterQuery<T>;
}
