import { join, resolve } from 'node:path';

/** The package root (where package.json is), from either `src/` or `dist/src/`. */
export const packageRoot = resolve(__dirname, __dirname.includes(`${join('dist', 'src')}`) ? '../..' : '..');
