import type { CommandSpec } from './command.ts';
import { Registry } from './registry.ts';
import { sessionCommands } from './session.ts';
import { userCommands } from './users.ts';

/** COMMANDS is every command of the CLI, in the order help lists them. */
export const COMMANDS: readonly CommandSpec[] = [...sessionCommands, ...userCommands];

/** registry is the CLI's one registry of commands. */
export const registry = new Registry(COMMANDS);
