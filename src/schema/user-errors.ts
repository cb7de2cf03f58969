import { GraphQLError } from 'graphql';
import {
  isServiceError,
  type QuotaBreach,
  SERVICE_ERROR_CODES,
  type ServiceErrorCode,
  type ServiceErrorDetails,
} from '../services/errors.ts';
import { ALLOCATION_LIMITS } from '../services/quotas/allocation.ts';
import { CONSUMPTION_LIMITS } from '../services/quotas/consumption.ts';
import type { QuotaLimit } from '../services/quotas/quota-service.ts';
import { builder } from './builder.ts';

/** UserErrorShape is one expected failure reported in a mutation payload. */
export interface UserErrorShape {
  readonly code: ServiceErrorCode;
  readonly field: string | null;
  readonly message: string;
  readonly details?: ServiceErrorDetails;
}

const TOP_LEVEL: ReadonlySet<ServiceErrorCode> = new Set(['FORBIDDEN', 'UNAUTHENTICATED']);

/** UserErrorCode is the GraphQL enum of the codes that appear in `userErrors`. */
export const UserErrorCode = builder.enumType('UserErrorCode', {
  values: SERVICE_ERROR_CODES.filter((c) => !TOP_LEVEL.has(c)),
});

/** QuotaLimitEnum names the limits a QUOTA_EXCEEDED error can name. */
export const QuotaLimitEnum = builder.enumType('QuotaLimit', {
  description:
    'A limit of a user. On what they hold: VMS, RUNNING_VMS, VCPUS, MEMORY_BYTES, DISK_BYTES (virtual sizes of VM disks), IMAGES, IMAGE_BYTES (stored), SNAPSHOTS. On what they consume within the window: CPU_SECONDS (of vCPUs), DISK_READ_BYTES, DISK_WRITE_BYTES, NET_RX_BYTES, NET_TX_BYTES.',
  values: Object.fromEntries(
    [...ALLOCATION_LIMITS, ...CONSUMPTION_LIMITS].map((l) => [
      l.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase(),
      { value: l },
    ]),
  ) as Record<string, { value: QuotaLimit }>,
});

const QuotaBreachType = builder.objectRef<QuotaBreach>('QuotaBreach').implement({
  description: 'The limit an operation ran into: its value, the use now, and what was asked for.',
  fields: (t) => ({
    limit: t.field({ type: QuotaLimitEnum, resolve: (b) => b.limit as QuotaLimit }),
    max: t.field({ type: 'BigInt', description: "The limit's value.", resolve: (b) => b.max }),
    used: t.field({ type: 'BigInt', description: 'What is in use now.', resolve: (b) => b.used }),
    requested: t.field({
      type: 'BigInt',
      description: 'What the operation would have added.',
      resolve: (b) => b.requested,
    }),
  }),
});

/** UserError is the GraphQL type of one expected failure: `userErrors { code field message }`. */
export const UserError = builder.objectRef<UserErrorShape>('UserError').implement({
  description:
    'An expected failure of an operation: what was wrong, with which input field, and what to do.',
  fields: (t) => ({
    code: t.field({
      type: UserErrorCode,
      resolve: (e) => e.code as Exclude<ServiceErrorCode, 'FORBIDDEN' | 'UNAUTHENTICATED'>,
    }),
    field: t.string({ nullable: true, resolve: (e) => e.field }),
    message: t.exposeString('message'),
    quota: t.field({
      type: QuotaBreachType,
      nullable: true,
      description: 'For QUOTA_EXCEEDED: the limit, its value, the use and what was asked for.',
      resolve: (e) => e.details?.quota ?? null,
    }),
    offeredHostKey: t.string({
      nullable: true,
      description:
        'For a host whose SSH key is not pinned yet, or differs from the pinned one: the fingerprint it offered. Confirm it out of band, then send it as hostKeyFingerprint.',
      resolve: (e) => e.details?.offeredHostKey ?? null,
    }),
  }),
});

/**
 * runForPayload runs a mutation's work and sorts its failures: a ServiceError becomes a
 * `userErrors` entry, except FORBIDDEN and UNAUTHENTICATED, which become top-level errors with
 * that code; anything else propagates (and is masked as unexpected).
 */
export async function runForPayload<T>(
  work: () => Promise<T>,
): Promise<{ result: T | null; userErrors: UserErrorShape[] }> {
  try {
    return { result: await work(), userErrors: [] };
  } catch (err) {
    if (!isServiceError(err)) throw err;
    if (TOP_LEVEL.has(err.code))
      throw new GraphQLError(err.message, { extensions: { code: err.code } });
    return {
      result: null,
      userErrors: [
        { code: err.code, field: err.field, message: err.message, details: err.details },
      ],
    };
  }
}

/**
 * runForQuery runs a query field's work: a ServiceError (a refusal, something not found)
 * becomes an error with its code and message instead of a masked internal error.
 */
export async function runForQuery<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (!isServiceError(err)) throw err;
    throw new GraphQLError(err.message, { extensions: { code: err.code } });
  }
}
