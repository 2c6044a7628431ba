import { S3Context, VolumeEngine, VolumeWorker, openLocation, resolveConfig, tinyAdapter, type Location } from '../src';
import { s3ClientConfigFor, startLocalS3Server } from '../src/demo';
import { writeDemoVolume, type DemoPage } from '../src/demoVolume';
import { S3ParquetWriter, TransientErrorsError } from '../src/stages/parquetWriter';
import { readParquet } from './helpers/duckdb';
import { startFaultProxy, type FaultProxy } from './helpers/faultProxy';

/**
 * Issue 13, defect 3: the S3 endpoint goes away in the middle of a volume (connections cut, new
 * ones refused). With the default retries (30 s) a 10 s outage is ridden out and every page is ok;
 * an outage longer than the retries fails the volume with nothing published, so a rerun does it
 * all again instead of skipping a table with holes.
 */
const PAGES = 12;
const OUTAGE_MS = 10_000;

async function keys(location: Location): Promise<string[]> {
  const out: string[] = [];
  for await (const page of location.list({ pageSize: 1000 })) out.push(...page.map((e) => e.key));
  return out.sort();
}

describe('an S3 endpoint that drops out mid-volume', () => {
  let server: Awaited<ReturnType<typeof startLocalS3Server>>;
  let proxy: FaultProxy;
  let direct: S3Context;
  let engine: VolumeEngine;
  const cfg = resolveConfig({ input: 's3://scans/vol_O/', output: 's3://tables/out/', decodeWorkers: 1, inferWorkers: 1, transformWorkers: 1, prefetchConcurrency: 1, prefetchCapacity: 1, inflightPages: 2 });

  beforeAll(async () => {
    server = await startLocalS3Server({ buckets: ['scans', 'tables'] });
    proxy = await startFaultProxy(server.endpoint);
    direct = new S3Context(s3ClientConfigFor(server.endpoint));
    const pages: DemoPage[] = Array.from({ length: PAGES }, (_, i) => ({ key: `p${String(i).padStart(2, '0')}.jpg`, kind: 'straight', spec: { seed: i, width: 360, height: 480 } }));
    await writeDemoVolume(openLocation(cfg.input, direct), pages);
    engine = await VolumeEngine.create(cfg, tinyAdapter(cfg));
  });
  afterAll(async () => {
    await engine.close();
    direct.destroy();
    await proxy.close();
    await server.stop();
  });

  it(`rides out a ${OUTAGE_MS / 1000} s outage with the default retries: every page ok, published`, async () => {
    const s3 = new S3Context({ ...s3ClientConfigFor(proxy.endpoint), maxBackoffMs: 1000 });
    try {
      const from = proxy.log.length;
      const run = new VolumeWorker({ ...cfg, output: 's3://tables/ride/' }, s3, 'vol_O', undefined, { engine }).run();
      await proxy.seen(/^GET \/scans\/vol_O\/p04\.jpg/, from);
      await proxy.down();
      const downAt = Date.now();
      await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
      await proxy.up();
      const result = await run;
      console.log(`outage: endpoint down ${((Date.now() - downAt) / 1000).toFixed(1)} s after 4 pages; ${s3.counters.retries} retries; ${result.ok}/${result.pages} ok`);
      expect(result).toMatchObject({ status: 'published', pages: PAGES, ok: PAGES, errors: 0 });
      expect(s3.counters.retries).toBeGreaterThan(0);
      const { rows } = await readParquet((await openLocation('s3://tables/ride/', direct).get(result.marker.parquet.key)).bytes);
      expect(rows.map((r) => [r.status, r.error_kind])).toEqual(Array.from({ length: PAGES }, () => ['ok', null]));
    } finally {
      s3.destroy();
    }
  });

  it('an outage longer than the retries fails the volume: nothing published, the rerun processes it', async () => {
    const s3 = new S3Context({ ...s3ClientConfigFor(proxy.endpoint), retryForMs: 1500, maxBackoffMs: 200 });
    const output = openLocation('s3://tables/fail/', direct);
    try {
      const from = proxy.log.length;
      const run = new VolumeWorker({ ...cfg, output: 's3://tables/fail/' }, s3, 'vol_O', undefined, { engine }).run();
      await proxy.seen(/^GET \/scans\/vol_O\/p04\.jpg/, from);
      await proxy.down();
      const failure = await run.then(() => undefined, (err: unknown) => err);
      await proxy.up();
      expect(failure).toBeInstanceOf(TransientErrorsError);
      expect((failure as Error).message).toMatch(/page\(s\) of vol_O could not be fetched after all retries .*ECONNREFUSED.*nothing was published/);
      expect(await S3ParquetWriter.readMarker(output, 'vol_O')).toBeUndefined();
      // The endpoint was down while the attempt cleaned up: at most its empty owner file is left, in staging.
      const ownerFile = /^_staging\/vol_O\/[^/]+\/owner\.[0-9a-f]{12}-\d+$/;
      expect((await keys(output)).filter((key) => !ownerFile.test(key))).toEqual([]);

      const rerun = await new VolumeWorker({ ...cfg, output: 's3://tables/fail/' }, s3, 'vol_O', undefined, { engine }).run();
      expect(rerun).toMatchObject({ status: 'published', pages: PAGES, ok: PAGES });
      // The rerun removes it (an attempt of this process that no longer runs is over): only the table and its marker remain.
      expect(await keys(output)).toEqual([rerun.marker.parquet.key, 'vol_O/_SUCCESS.json'].sort());
    } finally {
      s3.destroy();
    }
  });
});
