import type { Api } from '../api/api.ts';
import { done, type Row } from '../output/output.ts';
import { resolveRef } from '../resources/refs.ts';
import type { CommandSpec } from './command.ts';

/**
 * renameCommand is `<noun> set`, which renames or re-describes a VM or an image: the same
 * options for both, `update` sending them.
 */
export function renameCommand(
  noun: 'vm' | 'image',
  update: (
    api: Api,
    input: { id: string; name: string | null; description: string | null },
  ) => Promise<Row & { readonly name: string }>,
): CommandSpec {
  const what = noun === 'vm' ? 'VM' : 'image';
  return {
    words: [noun, 'set'],
    summary: `Rename or re-describe ${noun === 'vm' ? 'a VM' : 'an image'}.`,
    args: [{ name: noun, description: 'Name or id', complete: noun }],
    options: [
      { name: 'name', value: 'name', description: 'A new name' },
      { name: 'description', value: 'text', description: 'A new description' },
    ],
    async run(ctx, input) {
      const api = ctx.api();
      const id = await resolveRef(api, noun, input.arg(noun));
      const row = await update(api, {
        id,
        name: input.option('name') ?? null,
        description: input.option('description') ?? null,
      });
      return done(`updated ${what} ${row.name}`, row);
    },
  };
}
