import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Piscina from 'piscina';
import { drainPool } from '../operators';

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

/** A piscina pool running the worker `src/workers/<name>.ts`. Close it with {@link closePool}. */
export function startPool(name: string, options: Omit<ConstructorParameters<typeof Piscina>[0] & object, 'filename'>): Piscina {
  return new Piscina({ ...options, filename: workerFile(name) });
}

/**
 * Closes a pool without ending a thread inside a task: tasks waiting for a thread are dropped,
 * running ones run to their end (a thread ended inside ONNX Runtime's `session.run` aborts the
 * whole process), then the threads stop.
 */
export async function closePool(pool: Piscina): Promise<void> {
  await drainPool(pool);
  await pool.destroy();
}
