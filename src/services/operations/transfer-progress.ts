import type { OperationDetails } from './operation-runner.ts';

/**
 * TransferProgress is the figures of an operation that moves bytes (an image import, a VM disk
 * saved as an image): what has arrived and, when known, how much will. Clients work out rates
 * and times left from successive reports.
 */
export interface TransferProgress {
  readonly transferredBytes: number;
  readonly totalBytes: number | null;
}

/** transferDetails is a transfer's figures as operation details. */
export function transferDetails(transferred: bigint, total: bigint | null): OperationDetails {
  return {
    transferredBytes: Number(transferred),
    totalBytes: total === null ? null : Number(total),
  } satisfies TransferProgress;
}

/** transferOf reads a transfer's figures back from an operation's details (null for others). */
export function transferOf(details: OperationDetails): TransferProgress | null {
  return typeof details.transferredBytes === 'number'
    ? (details as unknown as TransferProgress)
    : null;
}
