import {
  ForeignKeyConstraintViolationException,
  NotNullConstraintViolationException,
  UniqueConstraintViolationException,
} from '@mikro-orm/core';
import { SQLITE_DEADLOCK_CODE } from './sqlite-dialect.ts';

// MikroORM turns each driver's error (SQLite's SQLITE_CONSTRAINT_UNIQUE, PostgreSQL's 23505,
// ...) into one exception class, so these checks hold on both dialects.

/** isUniqueViolation says whether err is a write refused by a unique index or constraint. */
export function isUniqueViolation(err: unknown): err is UniqueConstraintViolationException {
  return err instanceof UniqueConstraintViolationException;
}

/** isForeignKeyViolation says whether err is a write refused by a foreign key. */
export function isForeignKeyViolation(err: unknown): err is ForeignKeyConstraintViolationException {
  return err instanceof ForeignKeyConstraintViolationException;
}

/** isNotNullViolation says whether err is a write of null into a NOT NULL column. */
export function isNotNullViolation(err: unknown): err is NotNullConstraintViolationException {
  return err instanceof NotNullConstraintViolationException;
}

/**
 * isSqliteDeadlock says whether err is a query refused because, on SQLite, it would have waited
 * forever for the open transaction of the code that awaits it (see KumoSqliteDialect).
 */
export function isSqliteDeadlock(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === SQLITE_DEADLOCK_CODE;
}
