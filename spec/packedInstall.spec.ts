import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = join(__dirname, '..');
const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

/**
 * rxvolume as a user gets it: `npm pack`, installed into a fresh project with no install scripts
 * run (npm is moving to skip them), then used from there: the CLI's demo, TypeScript under strict
 * settings, `require` and `import` of both entry points. npm's cache, warm after `npm ci`, keeps the
 * install quick.
 */
describe('the packed package installed in a fresh project', () => {
  let dir: string;
  let app: string;
  let tarball: string;
  const inApp = (file: string, args: string[], env: NodeJS.ProcessEnv = {}) =>
    run(file, args, { cwd: app, env: { ...process.env, ...env }, maxBuffer: 16 << 20 });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rxvolume-pack-'));
    app = join(dir, 'app');
    await run('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: ROOT });
    tarball = join(dir, readdirSync(dir).find((f) => f.endsWith('.tgz')) as string);
    await run('mkdir', [app]);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
    const deps = ['rxjs@7', 'typescript@5.9', '@types/node@20'];
    await inApp('npm', ['install', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', tarball, ...deps], { ONNXRUNTIME_NODE_INSTALL: 'skip' });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('npx rxvolume demo publishes a table with the default model', async () => {
    const { stdout } = await inApp('npx', ['rxvolume', 'demo', '--pages', '3', '--json', '--out', 'demo']);
    const result = JSON.parse(stdout.trim().split('\n').pop() as string);
    expect(result).toMatchObject({ volumeId: 'demo-volume', pages: 3, ok: 3, errors: 0, skipped: false });
    expect(readdirSync(join(app, 'demo')).sort()).toEqual(['demo-volume', 'report.html']);
    const marker = JSON.parse(readFileSync(join(app, 'demo', 'demo-volume', '_SUCCESS.json'), 'utf8')) as { parquet: { key: string }; images: { prefix: string } };
    expect(result).toMatchObject({ parquet: join(app, 'demo', marker.parquet.key), images: join(app, 'demo', marker.images.prefix) });
    expect(readdirSync(join(app, 'demo', 'demo-volume')).sort()).toEqual(['_SUCCESS.json', 'pages', marker.parquet.key.slice('demo-volume/'.length)].sort());
    expect(readdirSync(join(app, 'demo', marker.images.prefix))).toHaveLength(3);
  });

  it('installed globally (npm i -g), the rxvolume command finds its default model', async () => {
    const prefix = join(dir, 'global');
    await run('npm', ['install', '--global', '--prefix', prefix, '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', tarball, 'rxjs@7'], {
      env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' },
    });
    const { stdout } = await run(join(prefix, 'bin', 'rxvolume'), ['demo', '--pages', '1', '--json', '--out', join(dir, 'global-demo')], { cwd: dir });
    expect(JSON.parse(stdout.trim().split('\n').pop() as string)).toMatchObject({ pages: 1, ok: 1, errors: 0 });
  });

  it('ships its licence and declaration maps (go-to-definition lands in the TypeScript source)', () => {
    const pkg = join(app, 'node_modules', 'rxvolume');
    expect(readFileSync(join(pkg, 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
    const map = JSON.parse(readFileSync(join(pkg, 'dist', 'operators', 'index.d.ts.map'), 'utf8')) as { sources: string[] };
    expect(map.sources).toEqual(['../../operators/index.ts']);
    expect(readdirSync(join(pkg, 'operators'))).toContain('index.ts');
  });

  it('its README is true for the installed package: every path it names is there, or under a folder it says is in the repository only', () => {
    const pkg = join(app, 'node_modules', 'rxvolume');
    const readme = readFileSync(join(pkg, 'README.md'), 'utf8');
    const repositoryOnly = ['spec/', 'bench/', 'dist/bench/', '.ci/'];
    const note = /This README also ships in the npm package\.[\s\S]*?those are not in the package\./.exec(readme)?.[0] ?? '';
    for (const folder of repositoryOnly) expect([folder, note.includes(`\`${folder}\``)]).toEqual([folder, true]);
    const named = new Set(readme.match(/(?<![\w/.-])(?:\.ci|spec|bench|src|operators|dist|bin)\/[\w./-]*[\w/]/g));
    const missing = [...named].filter((path) => !existsSync(join(pkg, path)) && !repositoryOnly.some((folder) => path.startsWith(folder)));
    expect(missing).toEqual([]);
    expect(named.size).toBeGreaterThan(20);
  });

  it('require() and import of rxvolume, rxvolume/operators, rxvolume/demo and rxvolume/package.json; the demo helpers only in rxvolume/demo', async () => {
    const cjs = `const rx = require('rxvolume'); const ops = require('rxvolume/operators'); const demo = require('rxvolume/demo');
      console.log(JSON.stringify([typeof rx.VolumeWorker, typeof ops.weightedMerge, typeof demo.startLocalS3Server, typeof rx.startLocalS3Server, typeof rx.renderSyntheticPage, require('rxvolume/package.json').version]));`;
    const esm = `import * as rx from 'rxvolume'; import * as ops from 'rxvolume/operators'; import * as demo from 'rxvolume/demo';
      import { createRequire } from 'node:module';
      console.log(JSON.stringify([typeof rx.VolumeWorker, typeof ops.weightedMerge, typeof demo.startLocalS3Server, typeof rx.startLocalS3Server, typeof rx.renderSyntheticPage, createRequire(import.meta.url)('rxvolume/package.json').version]));`;
    writeFileSync(join(app, 'use.cjs'), cjs);
    writeFileSync(join(app, 'use.mjs'), esm);
    for (const file of ['use.cjs', 'use.mjs']) {
      const { stdout } = await inApp(process.execPath, [file]);
      expect(JSON.parse(stdout)).toEqual(['function', 'function', 'function', 'undefined', 'undefined', version]);
    }
  });

  it('installs s3rver as an optional dependency, and without it the demo says how to get it', async () => {
    const pkg = JSON.parse(readFileSync(join(app, 'node_modules', 'rxvolume', 'package.json'), 'utf8')) as { dependencies: object; optionalDependencies: object };
    expect(Object.keys(pkg.dependencies)).not.toContain('s3rver');
    expect(Object.keys(pkg.optionalDependencies)).toEqual(['s3rver']);
    const s3rver = join(app, 'node_modules', 's3rver');
    renameSync(s3rver, `${s3rver}.away`); // as after npm i --omit=optional (which would also drop sharp's binaries)
    const demo = inApp('npx', ['rxvolume', 'demo', '--pages', '1', '--json']).finally(() => renameSync(`${s3rver}.away`, s3rver));
    await expect(demo).rejects.toMatchObject({ code: 1, stdout: expect.stringContaining('needs s3rver, an optional dependency of rxvolume that is not installed here: npm i s3rver') });
  });

  it.each([
    ['node16', 'node16'],
    ['esnext', 'bundler'],
  ])('a strict TypeScript file importing both entry points type-checks (module %s, moduleResolution %s, skipLibCheck false)', async (module, moduleResolution) => {
    writeFileSync(join(app, 'use.ts'), `
      import { resolveConfig, VolumeWorker, type VolumeResult } from 'rxvolume';
      import { Credits, weightedMerge, poolMap, releaseCredit } from 'rxvolume/operators';
      import { of } from 'rxjs';
      const cfg = resolveConfig({ input: 'in', output: 'out' });
      const credits = new Credits(2);
      export const worker: VolumeWorker = new VolumeWorker(cfg, undefined, 'v');
      export const served = weightedMerge([{ source: of(1), weight: 1 }], { credits }).pipe(
        poolMap((x: number) => of(x * 2), { concurrency: 1 }),
        releaseCredit(credits),
      );
      export type Pages = VolumeResult['pages'];
    `);
    const compilerOptions = { strict: true, module, moduleResolution, target: 'es2022', skipLibCheck: false, noEmit: true, types: ['node'] };
    writeFileSync(join(app, `tsconfig.${moduleResolution}.json`), JSON.stringify({ compilerOptions, files: ['use.ts'] }));
    await expect(inApp(process.execPath, [join(app, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', `tsconfig.${moduleResolution}.json`])).resolves.toBeDefined();
  });
});
