import type { CommandSpec } from './command.ts';
import { usage } from './parse.ts';

/** Registry finds commands by their words, and describes them for help and completion. */
export class Registry {
  readonly specs: readonly CommandSpec[];

  constructor(specs: readonly CommandSpec[]) {
    this.specs = specs;
  }

  /** namesOf is a command's word sequences: its own and those of its aliases. */
  namesOf(spec: CommandSpec): string[][] {
    const head = spec.words.slice(0, -1);
    return [[...spec.words], ...(spec.aliases ?? []).map((a) => [...head, a])];
  }

  /** find returns the command whose words start `words` (the longest match) and what follows. */
  find(words: readonly string[]): { spec: CommandSpec; rest: string[] } | null {
    let best: { spec: CommandSpec; rest: string[]; length: number } | null = null;
    for (const spec of this.specs)
      for (const name of this.namesOf(spec))
        if (
          name.length <= words.length &&
          name.every((w, i) => w === words[i]) &&
          (!best || name.length > best.length)
        )
          best = { spec, rest: words.slice(name.length), length: name.length };
    return best && { spec: best.spec, rest: best.rest };
  }

  /** nouns are the first words of every command, for completion and help. */
  get nouns(): string[] {
    return [...new Set(this.specs.map((s) => s.words[0]))];
  }

  /** overview is `help` with no argument: every command's synopsis and summary, by noun. */
  overview(): string {
    const lines = ['Commands (`help <command>` for one; `kumo <command>` runs one and exits):', ''];
    const width = Math.max(...this.specs.map((s) => s.words.join(' ').length)) + 2;
    for (const spec of this.specs)
      lines.push(`  ${spec.words.join(' ').padEnd(width)}${firstSentence(spec.summary)}`);
    lines.push(
      '',
      'Options for every command: --json (for scripts), -q/--quiet (ids only), --context <name>,',
      '--server <url>, --no-wait (return the operation at once), --no-color.',
    );
    return lines.join('\n');
  }

  /** describe is `help <command>`: usage, summary, arguments and options. */
  describe(spec: CommandSpec): string {
    const lines = [`usage: ${usage(spec)}`, '', spec.summary];
    const aliases = this.namesOf(spec).slice(1);
    if (aliases.length > 0) lines.push('', `also: ${aliases.map((a) => a.join(' ')).join(', ')}`);
    const rows = [
      ...(spec.args ?? []).map((a) => [`<${a.name}>`, a.description]),
      ...(spec.options ?? []).map((o) => [
        `--${o.name}${o.value ? ` <${o.value}>` : ''}`,
        o.description,
      ]),
      ...(spec.trailing ? [[`-- <${spec.trailing.name}>...`, spec.trailing.description]] : []),
    ];
    if (rows.length > 0) {
      const width = Math.max(...rows.map(([k]) => (k as string).length)) + 2;
      lines.push('', ...rows.map(([k, d]) => `  ${(k as string).padEnd(width)}${d}`));
    }
    return lines.join('\n');
  }
}

const firstSentence = (s: string) =>
  s
    .replace(/([.;:]\s).*$/s, '$1')
    .trim()
    .replace(/[.;:]$/, '');
