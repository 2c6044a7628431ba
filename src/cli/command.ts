import type { Writable } from 'node:stream';
import type { FlagSpec, Flags } from './args';

/** Where a command writes and how it learns it should stop (Ctrl-C / SIGTERM). */
export interface CliIO {
  stdout: Writable;
  stderr: Writable & { isTTY?: boolean; columns?: number };
  /** Aborted on SIGINT / SIGTERM. */
  signal: AbortSignal;
}

/** One `rxvolume <name>` command: its definition in `commands/`, its code in `actions/`. Register it in `commands/index.ts`. */
export interface Command {
  name: string;
  /** One line for the top-level --help. */
  summary: string;
  /** The usage line, e.g. `rxvolume run --input <url|dir> --output <url|dir> [flags]`. */
  usage: string;
  /** More text after the flag table (examples, notes). */
  details?: string;
  flags: readonly FlagSpec[];
  /**
   * Runs the command; resolves to the exit code. Throw a UsageError for bad arguments (exit 2). It
   * loads the command's code (`actions/`) when called: a definition loads only light modules.
   */
  run(flags: Flags, io: CliIO): Promise<number>;
}

/** Thrown when the run was stopped by SIGINT / SIGTERM. */
export class Interrupted extends Error {
  override readonly name = 'Interrupted';
  constructor() {
    super('interrupted');
  }
}

/** Exit codes. */
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;
