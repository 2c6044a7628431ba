import { parseArgs } from 'node:util';

/** A bad command line: the message names the flag; the CLI prints it on one line and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** One flag a command takes. */
export interface FlagSpec {
  /** Without the leading dashes, e.g. `volume-id`. */
  name: string;
  /** `string`, a positive `int`, a `bool` switch, or one of `choices`. */
  kind: 'string' | 'int' | 'bool' | { choices: readonly string[] };
  /** What the value looks like in --help, e.g. `<dir>`. */
  value?: string;
  help: string;
  /** Flags a command cannot run without. */
  required?: boolean;
  /** A further check of the raw value (a URL's form): what it must be (`must be a redis:// URL`), or undefined when it passes. */
  check?: (raw: string) => string | undefined;
}

type Value = string | number | boolean;

/** The parsed flags of one command, read by name. */
export class Flags {
  constructor(private readonly values: ReadonlyMap<string, Value>) {}

  has(name: string): boolean {
    return this.values.has(name);
  }

  string(name: string): string | undefined {
    const v = this.values.get(name);
    return v === undefined ? undefined : String(v);
  }

  int(name: string): number | undefined {
    const v = this.values.get(name);
    return typeof v === 'number' ? v : undefined;
  }

  bool(name: string): boolean {
    return this.values.get(name) === true;
  }
}

/** Parses one value of `spec`; throws a UsageError naming the flag. */
function parseValue(spec: FlagSpec, raw: string): Value {
  const flag = `--${spec.name}`;
  if (spec.kind === 'int' && (!/^\d+$/.test(raw) || Number(raw) < 1 || !Number.isSafeInteger(Number(raw)))) throw new UsageError(`${flag} must be a positive integer, got "${raw}"`);
  if (typeof spec.kind === 'object' && !spec.kind.choices.includes(raw)) throw new UsageError(`${flag} must be one of ${spec.kind.choices.join(', ')}, got "${raw}"`);
  if (raw === '') throw new UsageError(`${flag} needs a non-empty value`);
  const problem = spec.check?.(raw);
  if (problem) throw new UsageError(`${flag} ${problem}, got "${raw}"`);
  return spec.kind === 'int' ? Number(raw) : raw;
}

/** The name among `names` at most 2 edits (Levenshtein) from `typed`, the nearest; undefined when none is. */
function closest(typed: string, names: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of names) {
    let previous = Array.from({ length: name.length + 1 }, (_, j) => j);
    for (let i = 1; i <= typed.length; i++) {
      const row = [i];
      for (let j = 1; j <= name.length; j++) row[j] = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (typed[i - 1] === name[j - 1] ? 0 : 1));
      previous = row;
    }
    const distance = previous[name.length];
    if (distance <= 2 && (!best || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

/**
 * Parses `--name value`, `--name=value` and boolean `--name` switches against `specs`, with
 * `node:util`'s `parseArgs` as the tokenizer. Unknown flags, positional arguments, missing or
 * malformed values and missing required flags throw a UsageError naming the flag, pointing to
 * `seeHelp`. `--help` and `-h` are always accepted (as the boolean `help`).
 */
export function parseFlags(argv: readonly string[], specs: readonly FlagSpec[], command: string, seeHelp = `rxvolume ${command} --help`): Flags {
  const options = Object.fromEntries(specs.map((s) => [s.name, { type: s.kind === 'bool' ? ('boolean' as const) : ('string' as const) }]));
  const { tokens } = parseArgs({ args: [...argv], options: { ...options, help: { type: 'boolean' } }, strict: false, allowPositionals: true, tokens: true });
  const values = new Map<string, Value>();
  const byName = new Map(specs.map((s) => [s.name, s]));
  for (const token of tokens) {
    if (token.kind === 'option' && (token.rawName === '--help' || token.rawName === '-h') && token.value === undefined) {
      values.set('help', true);
      continue;
    }
    if (token.kind !== 'option' || !token.rawName.startsWith('--')) {
      throw new UsageError(`unexpected argument "${argv[token.index]}" for ${command} (flags start with --; see ${seeHelp})`);
    }
    const { name, value, inlineValue } = token;
    const spec = byName.get(name);
    if (!spec) {
      const near = closest(name, [...byName.keys()]);
      throw new UsageError(`unknown flag --${name} for ${command} (${near ? `did you mean --${near}? ` : ''}see ${seeHelp})`);
    }
    if (spec.kind === 'bool') {
      if (inlineValue) throw new UsageError(`--${name} takes no value`);
      values.set(name, true);
      continue;
    }
    if (value === undefined || (!inlineValue && value.startsWith('--'))) throw new UsageError(`--${name} needs a value ${spec.value ?? ''}`.trimEnd());
    values.set(name, parseValue(spec, value));
  }
  if (!values.has('help')) {
    for (const spec of specs) if (spec.required && !values.has(spec.name)) throw new UsageError(`missing --${spec.name} ${spec.value ?? ''}`.trimEnd() + ` (see ${seeHelp})`);
  }
  return new Flags(values);
}

/** The flag table of a command's --help. */
export function flagHelp(specs: readonly FlagSpec[]): string {
  const rows = [...specs, { name: 'help', kind: 'bool', help: 'show this help (also -h)' } as FlagSpec].map((s) => [`--${s.name}${s.value ? ` ${s.value}` : ''}`, s.help]);
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, help]) => `  ${left.padEnd(width)}  ${help}`).join('\n');
}
