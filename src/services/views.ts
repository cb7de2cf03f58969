import type { EntityName } from '@mikro-orm/core';
import type { QBFilterQuery } from '@mikro-orm/sql';
import DataLoader from 'dataloader';
import type { EntityManager } from '../db/database.ts';

/**
 * Row is a row as the query builder gives it (`execute('all')`): property names, relations as
 * their ids, values as the dialect's driver returns them.
 */
export type Row = Readonly<Record<string, unknown>>;

/** dateOf reads a datetime column: a Date from either driver, a number or text as stored. */
export function dateOf(v: unknown): Date {
  return v instanceof Date ? v : new Date(v as string | number);
}

/** dateOrNull is dateOf for a nullable column. */
export function dateOrNull(v: unknown): Date | null {
  return v == null ? null : dateOf(v);
}

/** bigintOf reads a bigint column: text (PostgreSQL) or a number (SQLite). */
export function bigintOf(v: unknown): bigint {
  return BigInt(v as string | number | bigint);
}

/**
 * viewLoader batches look-ups by id of one table's rows, read as views: the ids asked for in
 * one tick make one query. It caches nothing: a subscription's services live long, and a
 * cached view would go stale.
 */
export function viewLoader<T extends { id: string }, V>(
  em: EntityManager,
  entity: EntityName<T>,
  columns: readonly string[],
  ofRow: (r: Row) => V,
): DataLoader<T['id'], V | null> {
  return new DataLoader(
    async (ids) => {
      // MikroORM cannot check a filter on `id` against a generic T, hence the cast.
      const byIds = { id: { $in: [...ids] } } as unknown as QBFilterQuery<T>;
      const rows = await em
        .createQueryBuilder(entity)
        .select([...columns] as never)
        .where(byIds)
        .execute<Row[]>('all');
      const byId = new Map(rows.map((r) => [r.id as T['id'], ofRow(r)]));
      return ids.map((id) => byId.get(id) ?? null);
    },
    { cache: false },
  );
}
