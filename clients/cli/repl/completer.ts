import type { Completion } from '../commands/command.ts';
import type { Registry } from '../commands/registry.ts';
import type { Session } from '../config/session.ts';
import { listRefs, type RefKind } from '../resources/refs.ts';

/**
 * Completer completes a REPL line: command words, then arguments and option values from the
 * server (names of VMs, images, hosts, users; context names), fetched once per command line.
 */
export class Completer {
  private readonly registry: Registry;
  private readonly session: Session;
  private readonly cache = new Map<Completion, Promise<string[]>>();

  constructor(registry: Registry, session: Session) {
    this.registry = registry;
    this.session = session;
  }

  /** forget drops what was fetched: the next completion asks the server again. */
  forget(): void {
    this.cache.clear();
  }

  /** complete returns readline's answer: the candidates and the word they complete. */
  async complete(line: string): Promise<[string[], string]> {
    const words = line.split(/\s+/);
    const partial = words.pop() ?? '';
    const before = words.filter(Boolean);
    const commandWords = this.commandWords(before);
    if (commandWords.length > 0) return [match(commandWords, partial), partial];
    const found = this.registry.find(before);
    if (!found) return [[], partial];
    const { spec, rest } = found;
    if (partial.startsWith('--'))
      return [
        match(
          (spec.options ?? []).map((o) => `--${o.name}`),
          partial,
        ),
        partial,
      ];
    const previous = rest[rest.length - 1];
    const option = previous?.startsWith('--')
      ? spec.options?.find((o) => `--${o.name}` === previous && o.value)
      : undefined;
    const positional = rest.filter(
      (w, i) => !w.startsWith('--') && !isOptionValue(rest, i, spec.options ?? []),
    );
    // The argument being typed: the next one, or a variadic last one that takes the rest.
    const args = spec.args ?? [];
    const last = args[args.length - 1];
    const arg = args[positional.length] ?? (last?.variadic ? last : undefined);
    const kind = option ? option.complete : arg?.complete;
    if (!kind) return [[], partial];
    return [match(await this.names(kind), partial), partial];
  }

  // The words that may follow `before` as part of a command's name, when it is not yet whole.
  private commandWords(before: readonly string[]): string[] {
    const next = new Set<string>();
    for (const spec of this.registry.specs)
      for (const name of this.registry.namesOf(spec))
        if (name.length > before.length && before.every((w, i) => w === name[i]))
          next.add(name[before.length] as string);
    if (before.length === 0) next.add('help').add('exit');
    return [...next].sort();
  }

  private names(kind: Completion): Promise<string[]> {
    let names = this.cache.get(kind);
    if (!names) {
      names =
        kind === 'context'
          ? Promise.resolve(Object.keys(this.session.saved.contexts))
          : kind === 'file'
            ? Promise.resolve([])
            : listRefs(this.session.api(), kind as RefKind).then((refs) => refs.map((r) => r.name));
      this.cache.set(kind, names);
    }
    return names.catch(() => []);
  }
}

function isOptionValue(
  words: readonly string[],
  i: number,
  options: ReadonlyArray<{ name: string; value?: string }>,
): boolean {
  const prev = words[i - 1];
  return Boolean(prev && options.some((o) => o.value && `--${o.name}` === prev));
}

const match = (candidates: readonly string[], partial: string) =>
  candidates.filter((c) => c.startsWith(partial));
