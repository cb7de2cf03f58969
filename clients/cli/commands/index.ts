import { auditCommands } from './audit.ts';
import type { CommandSpec } from './command.ts';
import { hostWatchCommands } from './host-watch.ts';
import { hostCommands } from './hosts.ts';
import { imageListCommands } from './image-lists.ts';
import { imageCommands } from './images.ts';
import { operationCommands } from './operations.ts';
import { quotaCommands } from './quotas.ts';
import { Registry } from './registry.ts';
import { sessionCommands } from './session.ts';
import { snapshotCommands } from './snapshots.ts';
import { userCommands } from './users.ts';
import { vmConsoleCommands } from './vm-console.ts';
import { vmDisplayCommands } from './vm-display.ts';
import { vmExecCommands } from './vm-exec.ts';
import { vmWatchCommands } from './vm-watch.ts';
import { vmCommands } from './vms.ts';

/** COMMANDS is every command of the CLI, in the order help lists them. */
export const COMMANDS: readonly CommandSpec[] = [
  ...sessionCommands,
  ...userCommands,
  ...hostCommands,
  ...hostWatchCommands,
  ...imageCommands,
  ...vmCommands,
  ...snapshotCommands,
  ...vmWatchCommands,
  ...vmConsoleCommands,
  ...vmDisplayCommands,
  ...vmExecCommands,
  ...operationCommands,
  ...quotaCommands,
  ...auditCommands,
  ...imageListCommands,
];

/** registry is the CLI's one registry of commands. */
export const registry = new Registry(COMMANDS);
