import { CliError } from '../api/cli-error.ts';
import type { CommandSpec, Input } from './command.ts';

/**
 * splitLine splits a REPL line into words as a shell would for simple cases: spaces separate,
 * single and double quotes group, a backslash escapes the next character.
 */
export function splitLine(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] as string;
    if (quote) {
      if (ch === quote) quote = null;
      else if (ch === '\\' && quote === '"' && i + 1 < line.length) word += line[++i];
      else word += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (ch === '\\' && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (quote) throw new CliError('USAGE', `unclosed ${quote} quote`);
  if (inWord) words.push(word);
  return words;
}

/** parseInput matches the words after a command's name against its arguments and options. */
export function parseInput(spec: CommandSpec, words: readonly string[]): Input {
  const name = spec.words.join(' ');
  const options = new Map<string, string[]>();
  const positional: string[] = [];
  let trailing: string[] | null = null;
  const specs = spec.options ?? [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i] as string;
    if (w === '--') {
      if (spec.trailing) trailing = words.slice(i + 1);
      else positional.push(...words.slice(i + 1));
      break;
    }
    if (!w.startsWith('--') || w.length === 2) {
      positional.push(w);
      continue;
    }
    const eq = w.indexOf('=');
    const key = w.slice(2, eq < 0 ? undefined : eq);
    const opt = specs.find((o) => o.name === key);
    if (!opt)
      throw new CliError('USAGE', `${name} has no option --${key}`, {
        hint: `see \`help ${name}\``,
      });
    let value = 'true';
    if (opt.value) {
      const next = eq < 0 ? words[++i] : w.slice(eq + 1);
      if (next === undefined) throw new CliError('USAGE', `--${key} needs a ${opt.value}`);
      value = next;
    } else if (eq >= 0) throw new CliError('USAGE', `--${key} takes no value`);
    const seen = options.get(key) ?? [];
    if (seen.length > 0 && !opt.multiple) throw new CliError('USAGE', `--${key} is given twice`);
    options.set(key, [...seen, value]);
  }
  const args = new Map<string, string[]>();
  const argSpecs = spec.args ?? [];
  let at = 0;
  for (const a of argSpecs) {
    if (a.variadic) {
      args.set(a.name, positional.slice(at));
      at = positional.length;
    } else if (at < positional.length) args.set(a.name, [positional[at++] as string]);
    else if (!a.optional)
      throw new CliError('USAGE', `${name} needs <${a.name}>`, { hint: `usage: ${usage(spec)}` });
  }
  if (at < positional.length)
    throw new CliError(
      'USAGE',
      `${name} takes no more than ${at} arguments: ${positional.slice(at).join(' ')}`,
      {
        hint: `usage: ${usage(spec)}`,
      },
    );
  return {
    arg: (n) => args.get(n)?.[0] as string,
    optionalArg: (n) => args.get(n)?.[0],
    rest: (n) => args.get(n) ?? [],
    option: (n) => options.get(n)?.[0],
    options: (n) => options.get(n) ?? [],
    flag: (n) => options.has(n),
    trailing: () => trailing,
  };
}

/** usage is a command's one-line synopsis: `vm add <image> [<mem>] [--name <name>]`. */
export function usage(spec: CommandSpec): string {
  const args = (spec.args ?? []).map((a) => {
    const word = a.variadic ? `<${a.name}>...` : `<${a.name}>`;
    return a.optional || a.variadic ? `[${word}]` : word;
  });
  const opts = (spec.options ?? []).map((o) => `[--${o.name}${o.value ? ` <${o.value}>` : ''}]`);
  const trailing = spec.trailing ? [`[-- <${spec.trailing.name}>...]`] : [];
  return [...spec.words, ...args, ...opts, ...trailing].join(' ');
}
