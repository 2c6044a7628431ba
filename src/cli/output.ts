import type { CliIO } from './command';
import { formatRows, summaryRows, type JsonSummary } from './summary';

/** Prints a finished run: the JSON object as one line with `json`, else the summary table. */
export function printSummary(io: CliIO, summary: JsonSummary, model: string, json: boolean): void {
  io.stdout.write(json ? `${JSON.stringify(summary)}\n` : `${formatRows(summaryRows(summary, model))}\n`);
}

/** A status line on stderr (left out with --json, so stdout/stderr stay machine-readable). */
export function say(io: CliIO, json: boolean, line: string): void {
  if (!json) io.stderr.write(`${line}\n`);
}
