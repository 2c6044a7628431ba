import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const OPERATORS = join(__dirname, '../../operators');
const TSC = join(__dirname, '../../node_modules/.bin/tsc');

/**
 * The operators-only package (the `operators` workspace) as a user gets it: `npm pack`, installed
 * with rxjs into a fresh project. It brings nothing but rxjs (and its tslib), no native code, and
 * its types check under strict settings without Node's types.
 */
describe('rxvolume-operators packed and installed alone', () => {
  let dir: string;
  let app: string;
  const inApp = (file: string, args: string[]) => run(file, args, { cwd: app, maxBuffer: 16 << 20 });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rxvolume-operators-pack-'));
    app = join(dir, 'app');
    await run('npm', ['pack', '--pack-destination', dir], { cwd: OPERATORS });
    const tarball = join(dir, readdirSync(dir).find((f) => f.endsWith('.tgz')) as string);
    await run('mkdir', [app]);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
    await inApp('npm', ['install', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', tarball, 'rxjs@7']);
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('installs rxjs and nothing else, and no native code', async () => {
    expect(readdirSync(join(app, 'node_modules')).filter((name) => !name.startsWith('.')).sort()).toEqual(['rxjs', 'rxvolume-operators', 'tslib']);
    const { stdout } = await inApp('find', ['node_modules', '-name', '*.node']);
    expect(stdout).toBe('');
  });

  it('type-checks strictly (skipLibCheck false, no Node types) with node16 and bundler resolution', async () => {
    writeFileSync(
      join(app, 'app.ts'),
      [
        "import { lastValueFrom, toArray } from 'rxjs';",
        "import { Credits, poolMap, pullWithCredits, releaseCredit, type PiscinaPool, type StageSnapshot } from 'rxvolume-operators';",
        'const budget = new Credits(2);',
        'export const out = lastValueFrom(pullWithCredits([1, 2, 3], budget).pipe(poolMap(async (n: number) => n * 2, 2), releaseCredit(budget), toArray()));',
        'export type Used = [PiscinaPool, StageSnapshot];',
      ].join('\n'),
    );
    for (const [module, resolution] of [['node16', 'node16'], ['esnext', 'bundler']]) {
      const options = { strict: true, skipLibCheck: false, module, moduleResolution: resolution, target: 'es2022', types: [], noEmit: true };
      writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions: options, files: ['app.ts'] }));
      await expect(inApp(TSC, ['-p', 'tsconfig.json'])).resolves.toMatchObject({ stdout: '' });
    }
  }, 60_000);

  it('runs from require() and from import', async () => {
    const script = "const budget = new Credits(2); lastValueFrom(pullWithCredits([1, 2, 3], budget).pipe(releaseCredit(budget), toArray())).then((a) => console.log(JSON.stringify(a)));";
    const cjs = await inApp('node', ['-e', `const { Credits, pullWithCredits, releaseCredit } = require('rxvolume-operators'); const { lastValueFrom, toArray } = require('rxjs'); ${script}`]);
    const esm = await inApp('node', ['--input-type=module', '-e', `import { Credits, pullWithCredits, releaseCredit } from 'rxvolume-operators'; import { lastValueFrom, toArray } from 'rxjs'; ${script}`]);
    expect([cjs.stdout.trim(), esm.stdout.trim()]).toEqual(['[1,2,3]', '[1,2,3]']);
  });
});
