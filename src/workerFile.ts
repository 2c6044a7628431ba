import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

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
