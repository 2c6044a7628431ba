import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { S3Context, openLocation } from '../src';
import { demoPages, renderSyntheticPage, s3ClientConfigFor, startLocalS3Server, writeDemoVolume } from '../src/demo';
import { BIN, runNode } from './helpers/cli';

/**
 * README's operator sections ("Backpressure: credits" up to "The library API"): every ```ts block
 * is type-checked (strict, against operators/ as `rxvolume/operators`) and run, with the harness
 * below around it: what the block leaves to the reader (`listItems`, `runOnWorker`) and what is
 * checked after it.
 */
const root = join(__dirname, '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const sections = readme.slice(readme.indexOf('## Backpressure: credits'), readme.indexOf('## The library API'));
const blocks = [...sections.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);

interface Harness {
  /** Identifies the block. */
  marker: string;
  /** Declarations the block uses but leaves to the reader. */
  before: string;
  /** Checks after the block; may export `done`, a Promise the spec awaits. */
  after: string;
}

const harnesses: Harness[] = [
  {
    marker: 'const results$ = defer(',
    before: `
      interface Item { id: number; passes: number }
      async function* listItems(): AsyncIterable<Item> { for (let id = 0; id < 40; id++) yield { id, passes: id % 3 }; }
      let running = 0;
      let peakRunning = 0;
      async function runOnWorker(item: Item) {
        peakRunning = Math.max(peakRunning, ++running);
        await new Promise((resolve) => setImmediate(resolve));
        running--;
        return { item: { ...item, passes: item.passes - 1 }, needsAnotherPass: item.passes > 0 };
      }`,
    after: `
      import { lastValueFrom as __last, retry as __retry, throwError as __throw, toArray as __toArray, concat as __concat } from 'rxjs';
      const ids = (rs: Array<{ item: Item }>) => rs.map((r) => r.item.id).sort((a, b) => a - b);
      const all = Array.from({ length: 40 }, (_, i) => i);
      export const done = (async () => {
        expect(ids(await __last(results$.pipe(__toArray())))).toEqual(all);
        expect(peakRunning).toBe(2);
        // Subscribed again (a retry after a failure downstream): fresh budgets and listing, every item once more.
        let failed = false;
        const flaky = __concat(results$.pipe(__toArray()), __throw(() => new Error('once'))).pipe(
          __retry({ count: 1, resetOnSuccess: false }),
        );
        const runs: Array<Array<{ item: Item }>> = [];
        await new Promise<void>((resolve) => flaky.subscribe({ next: (r) => runs.push(r), error: () => { failed = true; resolve(); } }));
        expect(failed).toBe(true);
        expect(runs.map(ids)).toEqual([all, all]);
      })();`,
  },
  {
    marker: 'const testScheduler = () => new TestScheduler(',
    before: '',
    after: 'export const done = Promise.resolve();',
  },
];

/** One module per block: imports first (the block's own), then the harness around it. */
function moduleText(block: string, harness: Harness): string {
  const lines = block.split('\n');
  // An import may span lines: it ends at the line with `from '...'`.
  let end = 0;
  for (let i = 0; i < lines.length; i++) if (/from '[^']+';\s*$/.test(lines[i])) end = i + 1;
  const importsAfter = harness.after.split('\n').filter((l) => l.trim().startsWith('import '));
  const restAfter = harness.after.split('\n').filter((l) => !l.trim().startsWith('import '));
  return [...lines.slice(0, end), ...importsAfter, harness.before, ...lines.slice(end), ...restAfter].join('\n');
}

const files = blocks.map((block, i) => {
  const harness = harnesses.find((h) => block.includes(h.marker));
  return { name: join(root, 'spec', `__readme_block_${i}.ts`), block, harness, text: harness ? moduleText(block, harness) : '' };
});

const options: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.CommonJS,
  moduleResolution: ts.ModuleResolutionKind.Node10,
  strict: true,
  esModuleInterop: true,
  skipLibCheck: true,
  noEmit: true,
  types: ['node', 'jest'],
  baseUrl: root,
  paths: { 'rxvolume/operators': ['operators/index.ts'] },
};

/** The diagnostics of in-memory modules (`virtual`: file name → text), type-checked against the repository with `compilerOptions`. */
function typeCheck(virtual: Map<string, string>, compilerOptions: ts.CompilerOptions): string[] {
  const host = ts.createCompilerHost(compilerOptions);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, version, onError) =>
    virtual.has(name) ? ts.createSourceFile(name, virtual.get(name) as string, version) : getSourceFile(name, version, onError);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => virtual.has(name) || fileExists(name);
  const program = ts.createProgram([...virtual.keys()], compilerOptions, host);
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file && virtual.has(d.file.fileName))
    .map((d) => `${d.file?.fileName}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
}

describe("README's operator sections", () => {
  it('has a harness for each of its ts blocks, and each harness a block', () => {
    expect(files.filter((f) => !f.harness).map((f) => f.block.split('\n')[0])).toEqual([]);
    expect(harnesses.filter((h) => !blocks.some((b) => b.includes(h.marker))).map((h) => h.marker)).toEqual([]);
  });

  it('type-checks every block (strict)', () => {
    const diagnostics = typeCheck(new Map(files.map((f) => [f.name, f.text])), options);
    expect(diagnostics).toEqual([]);
  }, 60_000);

  it.each(files.map((f, i) => [i, f] as const))('runs block %i', async (_i, file) => {
    const js = ts.transpileModule(file.text, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } }).outputText;
    const module = { exports: {} as { done?: Promise<void> } };
    const load = (id: string) => (id === 'rxvolume/operators' ? require('../operators') : require(id));
    new Function('require', 'module', 'exports', 'expect', js)(load, module, module.exports, expect);
    await module.exports.done;
  }, 30_000);
});

describe("README's table read-back snippet (The Parquet table and the marker)", () => {
  const section = readme.slice(readme.indexOf('## The Parquet table and the marker'), readme.indexOf('### Publishing safely when attempts overlap'));
  const snippet = /```js\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  const work = mkdtempSync(join(tmpdir(), 'rxvolume-readme-'));
  // The snippet imports @duckdb/node-api: a module file inside the repository resolves it from its node_modules.
  const scriptDir = join(root, 'spec', `.readme-${process.pid}`);
  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
    rmSync(scriptDir, { recursive: true, force: true });
  });

  it('reads back, through the marker, every row of the run it names', async () => {
    expect(snippet).toContain('_SUCCESS.json');
    mkdirSync(join(work, 'scans', 'vol_A'), { recursive: true });
    const pages = ['p1.jpg', 'p2.jpg', 'p3.jpg'];
    for (const [seed, name] of pages.entries()) writeFileSync(join(work, 'scans', 'vol_A', name), await renderSyntheticPage({ seed, width: 400, height: 566 }));
    const run = await runNode([BIN, 'run', '--input', 'scans/vol_A', '--output', 'out', '--model', 'tiny', '--json'], { cwd: work });
    expect(run.code).toBe(0);
    mkdirSync(scriptDir, { recursive: true });
    writeFileSync(join(scriptDir, 'readBack.mjs'), snippet);
    const read = await runNode([join(scriptDir, 'readBack.mjs')], { cwd: work });
    expect(read.stderr).toBe('');
    expect(read.code).toBe(0);
    for (const name of pages) expect(read.stdout).toContain(name);
    expect(read.stdout.match(/\bok\b/g)).toHaveLength(pages.length);
  }, 120_000);
});

describe("README's library API snippet", () => {
  const section = readme.slice(readme.indexOf('## The library API'), readme.indexOf('### Plugging in another ONNX model'));
  const snippet = /```ts\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  // Inside the package, so that `import ... from 'rxvolume'` resolves to the package itself (its exports).
  const scriptDir = join(root, 'spec', `.readme-api-${process.pid}`);
  afterAll(() => rmSync(scriptDir, { recursive: true, force: true }));

  it('type-checks (strict, an ES module with top-level await)', () => {
    const name = join(scriptDir, 'libraryApi.ts');
    const esm: ts.CompilerOptions = { ...options, module: ts.ModuleKind.ES2022, paths: { rxvolume: ['src/index.ts'] } };
    const diagnostics = typeCheck(new Map([[name, snippet]]), esm);
    expect(diagnostics).toEqual([]);
  }, 60_000);

  it('runs as it stands against the local S3 server, which the AWS SDK finds through its standard environment variables', async () => {
    expect(snippet).toContain("new VolumeWorker(cfg, s3, 'vol_A')");
    const server = await startLocalS3Server({ buckets: ['scans', 'tables'] });
    const s3 = new S3Context(s3ClientConfigFor(server.endpoint));
    try {
      await writeDemoVolume(openLocation('s3://scans/vol_A/', s3), demoPages(2));
      mkdirSync(scriptDir, { recursive: true });
      const js = ts.transpileModule(snippet, { compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 } }).outputText;
      writeFileSync(join(scriptDir, 'libraryApi.mjs'), `${js}\nconsole.log(JSON.stringify({ result }));\n`);
      const run = await runNode([join(scriptDir, 'libraryApi.mjs')], {
        env: {
          AWS_ENDPOINT_URL_S3: server.endpoint,
          AWS_ACCESS_KEY_ID: 'S3RVER',
          AWS_SECRET_ACCESS_KEY: 'S3RVER',
          AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
          AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
        },
      });
      expect(run.code).toBe(0);
      // The stats$ line: one array of stages per snapshot.
      expect(run.stdout).toContain("stage: 'infer'");
      const { result } = JSON.parse(run.stdout.trim().split('\n').pop() as string) as { result: { status: string; pages: number; marker: { parquet: { key: string } } } };
      expect(result).toMatchObject({ status: 'published', pages: 2 });
      const published = await openLocation('s3://tables/pages/', s3).head(result.marker.parquet.key);
      expect(published?.bytes).toBeGreaterThan(0);
    } finally {
      s3.destroy();
      await server.stop();
    }
  }, 120_000);
});
