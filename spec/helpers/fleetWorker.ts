import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { FleetConsumerOptions } from '../../src/fleet';
import { packageRoot } from '../../src/workerFile';

/** The fleet consumer's process entry (`rxvolume worker` runs the same). */
export const CONSUMER_MAIN = join(packageRoot, 'dist', 'src', 'fleet', 'consumerMain.js');

export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  exited: Promise<number | null>;
  /** The last 8 000 characters of its stderr (one line per job event and BullMQ error). */
  log: () => string;
  /** Resolves with the first stderr line that matches `pattern` (at once when one already came); rejects if the process exits first. */
  logLine: (pattern: RegExp) => Promise<string>;
}

/** Spawns a fleet consumer process with `options` (JSON-able ones) and resolves once it says it is ready. */
export function startFleetWorker(options: Omit<FleetConsumerOptions, 'signal' | 'onReady' | 'log' | 's3'> & { s3?: object }): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [CONSUMER_MAIN, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  const lines: string[] = [];
  const waiting: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (line) => {
    stderr = (stderr + line + '\n').slice(-8000);
    lines.push(line);
    for (const w of waiting.filter((x) => x.pattern.test(line))) {
      waiting.splice(waiting.indexOf(w), 1);
      w.resolve(line);
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const logLine = (pattern: RegExp) =>
    new Promise<string>((resolve, reject) => {
      const seen = lines.find((line) => pattern.test(line));
      if (seen !== undefined) return resolve(seen);
      waiting.push({ pattern, resolve });
      void exited.then((code) => reject(new Error(`the worker exited (${code}) before logging ${pattern}:\n${stderr}`)));
    });
  const proc: WorkerProcess = { child, pid: child.pid as number, exited, log: () => stderr, logLine };
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', (line) => {
      if ((JSON.parse(line) as { ready?: boolean }).ready) resolve(proc);
      else reject(new Error(`worker printed ${line}`));
    });
    void exited.then((code) => reject(new Error(`worker exited with ${code} before it was ready: ${stderr}`)));
  });
}
