import { readFile } from 'node:fs/promises';
import { CliError } from '../api/cli-error.ts';

/** readText reads a file named on the command line, or says which one could not be read. */
export async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new CliError('USAGE', `cannot read ${path} (${(err as NodeJS.ErrnoException).code})`);
  }
}
