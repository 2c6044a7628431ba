import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export const BIN = join(__dirname, '..', '..', 'bin', 'rxvolume.js');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real binary (`node bin/rxvolume.js ...`; dist/ must be built). */
export function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return runNode([BIN, ...args], { env });
}

/** Runs `node <args>` (in `cwd`, with `env` added to this process's environment) to its end. */
export function runNode(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Watches a child's stderr; `waitFor` resolves with the first match of `pattern` in everything printed so far or later. */
export function watchStderr(child: ChildProcess): { waitFor(pattern: RegExp): Promise<RegExpExecArray> } {
  let seen = '';
  const waiting: Array<{ pattern: RegExp; resolve: (m: RegExpExecArray) => void; reject: (e: Error) => void }> = [];
  const check = () => {
    for (const w of [...waiting]) {
      const m = w.pattern.exec(seen);
      if (!m) continue;
      waiting.splice(waiting.indexOf(w), 1);
      w.resolve(m);
    }
  };
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    seen += chunk;
    check();
  });
  child.once('close', () => waiting.forEach((w) => w.reject(new Error(`exited before printing ${w.pattern}: ${seen}`))));
  return {
    waitFor: (pattern) =>
      new Promise((resolve, reject) => {
        waiting.push({ pattern, resolve, reject });
        check();
      }),
  };
}
