import { readdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Context, VolumeEngine, VolumeWorker, openLocation, resolveConfig, resolveEngineConfig, tinyAdapter, type Location } from '../src';
import { s3ClientConfigFor, startLocalS3Server } from '../src/demo';
import { writeDemoVolume, type DemoPage } from '../src/demoVolume';
import { S3ParquetWriter, type Marker } from '../src/stages/parquetWriter';
import { manifestSha256 } from '../src/store/manifest';
import { tableIntact } from '../src/store/marker';
import { readParquet } from './helpers/duckdb';

/**
 * Issue 13, defect 1: two runs of one volume at once. Each try changes the 1-page volume (so the
 * marker in place is stale and both runs publish, or one skips what the other just published) and
 * starts two VolumeWorkers on one engine at once. After every try the marker must name a table
 * that is there as written, whose rows are the current input; staging must be empty.
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

  it(`on folders: ${TRIES} tries, every marker names an existing table of the current input; no empty staging folder`, async () => {
    const counts = await race(() => ({ input: join(tmp, 'in', 'v1'), output: join(tmp, 'out') }), undefined);
    console.log(`race on folders: ${TRIES} tries, ${counts.published} publishes, ${counts.skipped} skips, ${counts.orphans} unnamed tables left`);
    expect(counts.published).toBeGreaterThanOrEqual(TRIES);
    expect((await readdir(join(tmp, 'out'))).sort()).toEqual(['v1']);
  });

  it(`on s3rver: ${TRIES} tries, every marker names an existing table of the current input`, async () => {
    const server = await startLocalS3Server({ buckets: ['scans', 'tables'] });
    const s3 = new S3Context(s3ClientConfigFor(server.endpoint));
    try {
      const counts = await race(() => ({ input: 's3://scans/v1/', output: 's3://tables/out/' }), s3);
      console.log(`race on s3rver: ${TRIES} tries, ${counts.published} publishes, ${counts.skipped} skips, ${counts.orphans} unnamed tables left`);
      expect(counts.published).toBeGreaterThanOrEqual(TRIES);
    } finally {
      s3.destroy();
      await server.stop();
    }
  });
});
