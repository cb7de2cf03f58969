import { type EntityName, type FilterQuery, type QueryOrderMap, raw, sql } from '@mikro-orm/core';
import type { QBFilterQuery } from '@mikro-orm/sql';
import type { EntityManager } from '../db/database.ts';
import type { UserId } from '../entities/ids.ts';
import { Permission, type ResourceType, type Role } from '../entities/permission.ts';
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

/** Grantee is a user whose grants on one type of resource a page is limited to. */
export interface Grantee {
  readonly user: UserId;
  readonly type: ResourceType;
}

/**
 * grantedRows is namedRows limited to the resources `grantee` holds a role on, each row with
 * that `role`. It walks the user's grants in name order on their listing index (a grant keeps
 * its resource's name) and joins the rows to them: a first page costs a page of index entries,
 * however many rows the table holds and wherever the user's sort among them.
 */
export async function grantedRows<T extends Named>(
  em: EntityManager,
  entity: EntityName<T>,
  columns: readonly string[],
  grantee: Grantee,
  where: FilterQuery<T>[],
  q: PageQuery,
): Promise<{ rows: Array<Record<string, unknown> & { role: Role }>; hasNextPage: boolean }> {
  const grants = em
    .createQueryBuilder(Permission, 'g')
    .select(['resourceId', 'resourceName', 'role'])
    .where({ user: grantee.user, resourceType: grantee.type });
  const qb = em
    .createQueryBuilder(entity, 'e')
    .select([...columns] as never)
    .addSelect(raw('perm.role as role'))
    .innerJoin(grants, 'perm', { 'perm.resource_id': sql.ref('e.id') })
    .where(pageWhere(where, { ...q, after: undefined }) as QBFilterQuery<T>)
    .orderBy({ [raw('perm.resource_name')]: 'asc', [raw('perm.resource_id')]: 'asc' } as never)
    .limit(q.first + 1);
  if (q.after)
    qb.andWhere(
      raw('(perm.resource_name, perm.resource_id) > (?, ?)', [q.after.name, q.after.id]) as never,
    );
  const rows = await qb.execute<Array<Record<string, unknown> & { role: Role }>>('all');
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
