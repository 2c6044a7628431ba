import { spawn, spawnSync } from 'node:child_process';
import { watch } from 'node:fs';
import { mkdir, readdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { createInterface } from 'node:readline';
import { S3Context, VolumeEngine, VolumeWorker, openLocation, resolveConfig, resolveEngineConfig, tinyAdapter, type Location } from '../src';
import { s3ClientConfigFor, startLocalS3Server } from '../src/demo';
import { writeDemoVolume, type DemoPage } from '../src/demoVolume';
import { S3ParquetWriter, type Marker } from '../src/stages/parquetWriter';
import { manifestSha256 } from '../src/store/manifest';
import { tableIntact } from '../src/store/marker';
import { packageRoot } from '../src/packageRoot';
import { BIN } from './helpers/cli';
import { readParquet } from './helpers/duckdb';

/**
 * Issue 13, defect 1: two runs of one volume at once. Each try changes the 1-page volume (so the
 * marker in place is stale and both runs publish, or one skips what the other just published) and
 * starts two VolumeWorkers on one engine at once. After every try the marker must name a table
 * that is there as written, whose rows are the current input; staging must be empty, and (both
 * stores holding the marker's write conditions) no table is left that the marker does not name.
 */
const TRIES = 30;

async function keys(location: Location): Promise<string[]> {
  const out: string[] = [];
  for await (const page of location.list({ pageSize: 1000 })) out.push(...page.map((e) => e.key));
  return out.sort();
}

describe('two runs of one volume at once', () => {
  let engine: VolumeEngine;
  let tmp: string;
  const poolCfg = resolveEngineConfig({ decodeWorkers: 1, inferWorkers: 1, transformWorkers: 1 });

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'rxvolume-race-'));
    engine = await VolumeEngine.create(poolCfg, tinyAdapter(poolCfg));
  });
  afterAll(async () => {
    await engine.close();
    await rm(tmp, { recursive: true, force: true });
  });

  /** Runs the tries; counts the runs that published and skipped, and the tables no marker names that were left behind. */
  async function race(cfgOf: () => { input: string; output: string }, s3: S3Context | undefined): Promise<{ published: number; skipped: number; orphans: number }> {
    // One small page under one key, its content alternating between two seeds: each try's input differs from the last.
    const pages: DemoPage[][] = [1, 2].map((seed) => [{ key: 'p.jpg', kind: 'straight', spec: { seed, width: 360, height: 480 } }]);
    const counts = { published: 0, skipped: 0, orphans: 0 };
    const { input, output } = cfgOf();
    const cfg = resolveConfig({ ...poolCfg, input, output });
    const out = openLocation(output, s3);
    for (let t = 0; t < TRIES; t++) {
      // Alternate between two different pages, so the marker of the previous try is stale.
      await writeDemoVolume(openLocation(input, s3), pages[t % 2]);
      const results = await Promise.all([0, 1].map(() => new VolumeWorker(cfg, s3, 'v1', undefined, { engine }).run()));
      for (const r of results) counts[r.status === 'published' ? 'published' : 'skipped']++;

      const marker = (await S3ParquetWriter.readMarker(out, 'v1')) as Marker;
      expect(marker).toBeDefined();
      expect(await tableIntact(out, marker)).toBe(true);
      const { rows } = await readParquet((await out.get(marker.parquet.key)).bytes);
      expect(rows.map((r) => r.key)).toEqual(await keys(openLocation(input, s3)));
      const inputs: Array<{ key: string; etag: string }> = [];
      for await (const page of openLocation(input, s3).list({ pageSize: 10 })) inputs.push(...page);
      expect(marker.inputManifestSha256).toBe(manifestSha256(inputs));
      const left = await keys(out);
      expect(left.filter((k) => k.startsWith('_staging/'))).toEqual([]);
      expect(left).toContain(marker.parquet.key);
      counts.orphans += left.filter((k) => k.startsWith('v1/part-') && k !== marker.parquet.key).length;
    }
    return counts;
  }

  it(`on folders: ${TRIES} tries, every marker names an existing table of the current input; no unnamed table, no empty staging folder`, async () => {
    const counts = await race(() => ({ input: join(tmp, 'in', 'v1'), output: join(tmp, 'out') }), undefined);
    console.log(`race on folders: ${TRIES} tries, ${counts.published} publishes, ${counts.skipped} skips, ${counts.orphans} unnamed tables left`);
    expect(counts.published).toBeGreaterThanOrEqual(TRIES);
    expect(counts.orphans).toBe(0);
    expect((await readdir(join(tmp, 'out'))).sort()).toEqual(['v1']);
  });

  it(`on the local S3 server: ${TRIES} tries, every marker names an existing table of the current input`, async () => {
    const server = await startLocalS3Server({ buckets: ['scans', 'tables'] });
    const s3 = new S3Context(s3ClientConfigFor(server.endpoint));
    try {
      const counts = await race(() => ({ input: 's3://scans/v1/', output: 's3://tables/out/' }), s3);
      console.log(`race on the local S3 server: ${TRIES} tries, ${counts.published} publishes, ${counts.skipped} skips, ${counts.orphans} unnamed tables left`);
      expect(counts.published).toBeGreaterThanOrEqual(TRIES);
      expect(counts.orphans).toBe(0);
    } finally {
      s3.destroy();
      await server.stop();
    }
  });
});

/** Every file under `dir`, relative to it with `/`, sorted ([] when it is not there). */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/')).sort();
}

/** Code a child process runs with the built store: `store` = dist/src/store, `writer` = dist/src/stages/parquetWriter. */
const withStore = (body: string) => `
  const { join } = require('node:path');
  const store = require(${JSON.stringify(join(packageRoot, 'dist', 'src', 'store'))});
  const local = require(${JSON.stringify(join(packageRoot, 'dist', 'src', 'store', 'localLocation'))});
  const writer = require(${JSON.stringify(join(packageRoot, 'dist', 'src', 'stages', 'parquetWriter'))});
  (async () => { ${body} })().catch((err) => { console.error(err); process.exit(1); });`;

describe('a later run of a volume removes what killed attempts left, never what a live one holds', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'rxvolume-leftovers-'));
  });
  afterAll(() => rm(tmp, { recursive: true, force: true }));

  /** `rxvolume run` of the volume; SIGKILLed as soon as its table's staging file appears when `killWhenStaging`. */
  function run(input: string, output: string, killWhenStaging = false): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, 'run', '--input', input, '--output', output, '--model', 'tiny', '--concurrency', '1', '--json'], { stdio: ['ignore', 'pipe', 'ignore'] });
      let stdout = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
      const watcher = killWhenStaging
        ? watch(output, { recursive: true }, (_, name) => {
            if (name && /_staging[\\/]vol[\\/][^\\/]+[\\/]part-00000\.parquet$/.test(name)) child.kill('SIGKILL');
          })
        : undefined;
      // Node's recursive watch walks new folders; one removed meanwhile is an ENOENT 'error', not a failure here.
      watcher?.on('error', () => undefined);
      child.once('error', reject);
      child.once('close', (code, signal) => {
        watcher?.close();
        resolve({ code, signal, stdout });
      });
    });
  }

  /** A marker write cut short: a process writes the temporary file of `vol/_SUCCESS.json` beside it, as a folder's putText does, and is SIGKILLed. */
  function killedMarkerWrite(output: string): void {
    const child = spawnSync(process.execPath, ['-e', withStore(`
      const fs = require('node:fs/promises');
      await fs.mkdir(join(${JSON.stringify(output)}, 'vol'), { recursive: true });
      await fs.writeFile(local.tempBeside(join(${JSON.stringify(output)}, 'vol', '_SUCCESS.json')), '{}');
      process.kill(process.pid, 'SIGKILL');`)], { encoding: 'utf8' });
    expect([child.signal, child.stderr]).toEqual(['SIGKILL', '']);
  }

  it('on a folder: a run SIGKILLed while staging and a marker write cut short are swept by the next run (published or skipped); a live attempt keeps its staging and temporary files until it is gone', async () => {
    const input = join(tmp, 'in', 'vol');
    const output = join(tmp, 'out');
    const pages: DemoPage[] = Array.from({ length: 12 }, (_, i) => ({ key: `p${String(i).padStart(2, '0')}.jpg`, kind: 'straight', spec: { seed: i, width: 360, height: 480 } }));
    await writeDemoVolume(openLocation(input), pages);
    await mkdir(output);

    const killed = await run(input, output, true);
    expect(killed.signal).toBe('SIGKILL');
    const killedStaging = await filesUnder(join(output, '_staging'));
    expect(killedStaging).toEqual([expect.stringMatching(/^vol\/[^/]+\/owner\.[0-9a-f]{12}-\d+$/), expect.stringMatching(/^vol\/[^/]+\/part-00000\.parquet$/)]);
    killedMarkerWrite(output);
    expect(await filesUnder(join(output, 'vol'))).toEqual([expect.stringMatching(/^_SUCCESS\.json\.[0-9a-f]{12}-\d+\.\d+\.\w+\.tmp$/)]);

    // A live attempt at the volume: a writer that has staged a row, and a temporary file it is writing.
    const live = spawn(process.execPath, ['-e', withStore(`
      const output = store.openLocation(${JSON.stringify(output)});
      const w = new writer.S3ParquetWriter(output, output.child('_staging'), { volumeId: 'vol', rowGroupSize: 1 });
      await w.append({ volume_id: 'vol', seq: 0, key: 'x.jpg', etag: 'e', status: 'error', error: 'live', error_kind: 'input', width: null, height: null, orientation_deg: null, orientation_confidence: null, skew_deg: null, confidence: null, transform: 'none', rejected_transform: null, residual_skew_deg: null, curvature_px: null, residual_curvature_px: null, text_lines: null, text_coverage: null, passes: 0, fetch_ms: 0, decode_ms: 0, infer_ms: 0, transform_ms: 0, total_ms: 0, applied_rotation_deg: null, image_width: null, image_height: null, dewarp_points: null, image_key: null });
      await require('node:fs/promises').writeFile(local.tempBeside(join(${JSON.stringify(output)}, 'vol', '_SUCCESS.json')), '{}');
      console.log(w.attemptId);
      setInterval(() => undefined, 1000);`)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const liveExited = new Promise((resolve) => live.once('exit', resolve));
    try {
      const liveAttempt = await new Promise<string>((resolve) => createInterface({ input: live.stdout }).once('line', resolve));
      const liveStaging = (await filesUnder(join(output, '_staging'))).filter((key) => key.startsWith(`vol/${liveAttempt}/`));
      expect(liveStaging).toHaveLength(2);
      const liveTemp = (await filesUnder(join(output, 'vol'))).filter((key) => key.includes(`-${live.pid}.`));
      expect(liveTemp).toHaveLength(1);

      const rerun = await run(input, output);
      expect(rerun.code).toBe(0);
      expect(JSON.parse(rerun.stdout.trim().split('\n').pop() as string)).toMatchObject({ skipped: false, pages: 12 });
      expect(await filesUnder(join(output, '_staging'))).toEqual(liveStaging);
      const marker = (await S3ParquetWriter.readMarker(openLocation(output), 'vol')) as Marker;
      expect(await filesUnder(join(output, 'vol'))).toEqual(['_SUCCESS.json', marker.parquet.key.slice('vol/'.length), ...liveTemp].sort());

      // The live attempt ends without cleaning up (killed), another marker write is cut short: a skipped rerun sweeps both.
      live.kill('SIGKILL');
      await liveExited;
      killedMarkerWrite(output);
      const skipped = await run(input, output);
      expect(JSON.parse(skipped.stdout.trim().split('\n').pop() as string)).toMatchObject({ skipped: true });
      expect(await filesUnder(join(output, '_staging'))).toEqual([]);
      expect(await filesUnder(join(output, 'vol'))).toEqual(['_SUCCESS.json', marker.parquet.key.slice('vol/'.length)]);
    } finally {
      live.kill('SIGKILL');
    }
  });
});
