import type { PipelineConfig } from '../src/config';
import { UsageError, flagHelp, parseFlags, type FlagSpec, type Flags } from '../src/cli/args';

/** Command-line options of `npm run bench`. */
export interface BenchOptions {
  /** Pages of the throughput volume (default 16: the default model runs ~2 pages/s on 2 cores). */
  pages: number;
  model: 'tiny' | 'default';
  /** Print one JSON object as the last line (and only that on stdout). */
  json: boolean;
  /** Repetitions of each figure; the median is reported. */
  runs: number;
  /** The two volume sizes of the memory figure (tiny model), smaller first. */
  memoryPages: [number, number];
  /** Repetitions of the memory figure (default 2: a 2000-page volume takes ~3 minutes here). */
  memoryRuns: number;
  /** Pipeline settings to try instead of the defaults (`--config '{"batchSize":6}'`). */
  config: Partial<PipelineConfig>;
  /** Skip the memory figure (two child processes). */
  skipMemory: boolean;
  /** `--help`: print `BENCH_USAGE` and run nothing. */
  help: boolean;
}

const FLAGS: FlagSpec[] = [
  { name: 'pages', kind: 'int', value: '<n>', help: 'pages of the throughput volume (default 16)' },
  { name: 'model', kind: { choices: ['tiny', 'default'] }, value: '<tiny|default>', help: 'the model (default: default, PP-OCRv4)' },
  { name: 'runs', kind: 'int', value: '<k>', help: 'repetitions of each figure; the median is reported (default 3)' },
  { name: 'config', kind: 'string', value: '<json>', help: 'PipelineConfig fields to try instead of the defaults, e.g. \'{"batchSize":6}\'' },
  { name: 'memory-pages', kind: 'string', value: '<a,b>', help: 'the two volume sizes of the memory figure, smaller first (default 200,2000)' },
  { name: 'memory-runs', kind: 'int', value: '<k>', help: 'repetitions of the memory figure (default 2)' },
  { name: 'no-memory', kind: 'bool', help: 'skip the memory figure (two child processes)' },
  { name: 'json', kind: 'bool', help: 'print one JSON object as the last line (and only that on stdout)' },
];

const SEE_HELP = 'npm run bench -- --help';
/** `npm run bench -- --help`. */
export const BENCH_USAGE = `usage: npm run bench -- [flags]\n\n${flagHelp(FLAGS)}`;

/** `--config <json>`: PipelineConfig fields, or a UsageError naming the flag. */
export function configJson(value: string): Partial<PipelineConfig> {
  try {
    const parsed = JSON.parse(value) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Partial<PipelineConfig>;
  } catch {
    // reported below
  }
  throw new UsageError(`--config needs a JSON object of PipelineConfig fields, got ${value}`);
}

function memoryPages(value: string): [number, number] {
  const [a, b, ...rest] = value.split(',').map(Number);
  if (rest.length > 0 || !Number.isSafeInteger(a) || !Number.isSafeInteger(b) || !(0 < a && a < b)) {
    throw new UsageError(`--memory-pages needs two sizes, smaller first (e.g. 200,2000), got "${value}"`);
  }
  return [a, b];
}

/** Parses `argv` (without node and the script) with the CLI's parser; a bad flag throws a UsageError naming it. */
export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  const f = parseFlags(argv, FLAGS, 'bench', SEE_HELP);
  const memory = f.string('memory-pages');
  const config = f.string('config');
  return {
    pages: f.int('pages') ?? 16,
    model: (f.string('model') ?? 'default') as BenchOptions['model'],
    json: f.bool('json'),
    runs: f.int('runs') ?? 3,
    memoryPages: memory === undefined ? [200, 2000] : memoryPages(memory),
    memoryRuns: f.int('memory-runs') ?? 2,
    config: config === undefined ? {} : configJson(config),
    skipMemory: f.bool('no-memory'),
    help: f.bool('help'),
  };
}

/**
 * The flags of the bench script `node dist/bench/<script>.js` (from `process.argv`), parsed like
 * `npm run bench`'s: `--help` prints the script's usage and exits 0; a bad flag prints the
 * UsageError naming it and exits 2.
 */
export function scriptFlags(script: string, specs: readonly FlagSpec[], argv: readonly string[] = process.argv.slice(2)): Flags {
  const command = `node dist/bench/${script}.js`;
  let flags: Flags;
  try {
    flags = parseFlags(argv, specs, script, `${command} --help`);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(err.message);
    process.exit(2);
  }
  if (flags.bool('help')) {
    console.log(`usage: ${command} [flags]\n\n${flagHelp(specs)}`);
    process.exit(0);
  }
  return flags;
}
