import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Piscina from 'piscina';

/** The package root (where package.json is), from either `src/` or `dist/src/`. */
export const packageRoot = resolve(__dirname, __dirname.includes(`${join('dist', 'src')}`) ? '../..' : '..');

/**
 * The compiled JavaScript file of a worker in `src/workers/<name>.ts`. Worker threads load plain
 * JavaScript, so workers always run from `dist/` (built by `npm run build`, which `npm test` and
 * `prepare` run), also when the caller is TypeScript under Jest.
 */
export function workerFile(name: string): string {
  const file = join(packageRoot, 'dist', 'src', 'workers', `${name}.js`);
  if (!existsSync(file)) throw new Error(`worker ${name} is not built: run \`npm run build\` (looked for ${file})`);
  return file;
}

/** How long `closePool` waits for running tasks before it gives up on them. */
const CLOSE_TIMEOUT_MS = 10 * 60_000;

/** A piscina pool running the worker `src/workers/<name>.ts`. Close it with {@link closePool}. */
export function startPool(name: string, options: Omit<ConstructorParameters<typeof Piscina>[0] & object, 'filename'>): Piscina {
  return new Piscina({ ...options, filename: workerFile(name), closeTimeout: CLOSE_TIMEOUT_MS });
}

/**
 * Closes a pool without ending a thread inside a task: queued tasks are dropped, running ones run
 * to their end (a thread ended inside ONNX Runtime's `session.run` aborts the whole process).
 */
export async function closePool(pool: Piscina): Promise<void> {
  const timedOut = (err: Error) => console.warn(`rxvolume: closing a thread pool: ${err.message}`);
  pool.once('error', timedOut);
  await pool.close({ force: true });
  pool.off('error', timedOut);
}
