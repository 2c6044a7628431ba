import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Piscina from 'piscina';
import { drainPool } from '../operators';
import { packageRoot } from './packageRoot';

export { packageRoot };

/**
 * The compiled JavaScript file of a thread entry `src/threads/<name>.ts`. Worker threads load plain
 * JavaScript, so they always run from `dist/` (built by `npm run build`, which `npm test` and
 * `prepare` run), also when the caller is TypeScript under Jest.
 */
export function threadFile(name: string): string {
  const file = join(packageRoot, 'dist', 'src', 'threads', `${name}.js`);
  if (!existsSync(file)) throw new Error(`thread entry ${name} is not built: run \`npm run build\` (looked for ${file})`);
  return file;
}

/**
 * Young generation of each pool thread's V8 heap, MB (4 MB semi-spaces). V8's default (16 MB
 * semi-spaces, 48 MB) lets every thread's short-lived garbage (maps, crops, decoded rows) hold tens
 * of MB of resident memory; at 12 the scavenges run more often at no measured CPU cost, and a
 * volume's peak RSS drops (bench/RESULTS.md, fifth session).
 */
export const THREAD_YOUNG_GENERATION_MB = 12;

/** A piscina pool of threads running the entry `src/threads/<name>.ts` (young generation {@link THREAD_YOUNG_GENERATION_MB}). Close it with {@link closePool}. */
export function startPool(name: string, options: Omit<ConstructorParameters<typeof Piscina>[0] & object, 'filename'>): Piscina {
  return new Piscina({ ...options, resourceLimits: { maxYoungGenerationSizeMb: THREAD_YOUNG_GENERATION_MB, ...options.resourceLimits }, filename: threadFile(name) });
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
