import type { PipelineConfig } from '../src/config';

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
}

const USAGE = 'usage: npm run bench -- [--pages N] [--model tiny|default] [--runs K] [--config JSON] [--memory-pages A,B] [--memory-runs K] [--no-memory] [--json]';

function positiveInt(flag: string, value: string | undefined): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} needs a positive integer, got ${value ?? 'nothing'}\n${USAGE}`);
  return n;
}

function configJson(value: string | undefined): Partial<PipelineConfig> {
  try {
    const parsed = JSON.parse(value ?? '') as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Partial<PipelineConfig>;
  } catch {
    // reported below
  }
  throw new Error(`--config needs a JSON object of PipelineConfig fields, got ${value ?? 'nothing'}\n${USAGE}`);
}

/** Parses `argv` (without node and the script); throws a one-line message with the usage on a bad flag. */
export function parseArgs(argv: string[]): BenchOptions {
  const opts: BenchOptions = { pages: 16, model: 'default', json: false, runs: 3, memoryPages: [200, 2000], memoryRuns: 2, skipMemory: false, config: {} };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    switch (flag) {
      case '--pages': opts.pages = positiveInt(flag, argv[++i]); break;
      case '--runs': opts.runs = positiveInt(flag, argv[++i]); break;
      case '--memory-runs': opts.memoryRuns = positiveInt(flag, argv[++i]); break;
      case '--config': opts.config = configJson(argv[++i]); break;
      case '--json': opts.json = true; break;
      case '--no-memory': opts.skipMemory = true; break;
      case '--model': {
        const model = argv[++i];
        if (model !== 'tiny' && model !== 'default') throw new Error(`--model must be tiny or default, got ${model ?? 'nothing'}\n${USAGE}`);
        opts.model = model;
        break;
      }
      case '--memory-pages': {
        const [a, b] = (argv[++i] ?? '').split(',').map((v) => positiveInt(flag, v));
        if (!(a < b)) throw new Error(`--memory-pages needs two sizes, smaller first (e.g. 200,2000)\n${USAGE}`);
        opts.memoryPages = [a, b];
        break;
      }
      default: throw new Error(`unknown option ${flag}\n${USAGE}`);
    }
  }
  return opts;
}
