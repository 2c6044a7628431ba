import { PutObjectCommand } from '@aws-sdk/client-s3';
import { S3Context, VolumeEngine, VolumeWorker, defaultAdapter, openLocation, resolveConfig, tinyAdapter, type VolumeResult, type VolumeStatsSnapshot } from '../src';
import { renderSyntheticPage, s3ClientConfigFor, startLocalS3Server } from '../src/demo';
import { corruptJpeg, demoPages, writeDemoVolume, type DemoPage } from '../src/demoVolume';
import { readParquet } from './helpers/duckdb';

type Row = Record<string, unknown>;

describe('VolumeWorker end to end against s3rver', () => {
  let server: Awaited<ReturnType<typeof startLocalS3Server>>;
  let s3: S3Context;

  beforeAll(async () => {
    server = await startLocalS3Server({ buckets: ['scans', 'tables'] });
    s3 = new S3Context({ ...s3ClientConfigFor(server.endpoint), maxInflightGlobal: 16 });
  });
  afterAll(async () => {
    s3.client.destroy();
    await server.stop();
  });

  async function publishedRows(result: VolumeResult): Promise<Row[]> {
    const bytes = await openLocation('s3://tables/out/', s3).get(result.marker.parquet.key);
    return (await readParquet(bytes.bytes)).rows;
  }

  describe('with the default model on a mixed 8-page volume', () => {
    let pages: DemoPage[];
    let result: VolumeResult;
    let rows: Row[];
    const cfg = resolveConfig({ input: 's3://scans/vol_A/', output: 's3://tables/out/' });
    let engine: VolumeEngine;
    let snapshots: VolumeStatsSnapshot[];

    beforeAll(async () => {
      pages = await writeDemoVolume(openLocation(cfg.input, s3), demoPages(8));
      engine = await VolumeEngine.create(cfg, defaultAdapter(cfg));
      const worker = new VolumeWorker(cfg, s3, 'vol_A', undefined, { engine, statsIntervalMs: 50 });
      snapshots = [];
      worker.stats$.subscribe((s) => snapshots.push(s));
      result = await worker.run();
      rows = await publishedRows(result);
    });
    afterAll(() => engine.close());

    const rowOf = (kind: DemoPage['kind']) => rows.filter((r) => pages[Number(r.seq)].kind === kind);

    it('publishes exactly one row per page, in listing order, with a consistent marker', () => {
      expect(rows.map((r) => r.key)).toEqual(pages.map((p) => p.key));
      expect(result).toMatchObject({ status: 'published', pages: 8, ok: 7, errors: 1 });
      expect(result.marker).toMatchObject({ volumeId: 'vol_A', rows: 8, okRows: 7, errorRows: 1, inputs: 8 });
    });

    it('reports the corrupt file as an error row and nothing else', () => {
      const [corrupt] = rowOf('corrupt');
      expect(corrupt.status).toBe('error');
      expect(String(corrupt.error)).toMatch(/decode|corrupt|unsupported|premature|image/i);
      expect(rows.filter((r) => r.status === 'error')).toHaveLength(1);
    });

    it('leaves straight pages untouched', () => {
      for (const r of rowOf('straight')) {
        expect(r.transform).toBe('none');
        expect(r.passes).toBe(1);
        expect(Math.abs(Number(r.skew_deg))).toBeLessThan(0.3);
      }
    });

    it('deskews skewed pages to a residual of at most 0.2°', () => {
      for (const r of rowOf('skewed')) {
        const truth = pages[Number(r.seq)].spec?.skewDeg as number;
        expect(Number(r.skew_deg)).toBeCloseTo(truth, 0);
        expect(r.transform).toBe('rotate');
        expect(r.passes).toBe(2);
        expect(Math.abs(Number(r.residual_skew_deg))).toBeLessThanOrEqual(0.2);
      }
    });

    it('turns rotated pages upright', () => {
      for (const r of rowOf('rotated')) {
        expect(r.orientation_deg).toBe(pages[Number(r.seq)].spec?.rotate);
        expect(r.transform).toBe('rotate');
        expect(Math.abs(Number(r.residual_skew_deg))).toBeLessThanOrEqual(0.2);
      }
    });

    it('dewarps the curled page with straighter lines', () => {
      const [curved] = rowOf('curved');
      expect(curved.transform).toBe('tps');
      expect(Number(curved.residual_curvature_px)).toBeLessThan(Number(curved.curvature_px));
    });

    it('reports per-stage stats while running', () => {
      expect(snapshots.length).toBeGreaterThan(0);
      const last = snapshots[snapshots.length - 1];
      const merge = last.stages.find((s) => s.stage === 'merge');
      expect(merge?.lanes?.initial).toBe(8); // the corrupt page's error item passes the merge too
      expect(merge?.lanes?.reprocess).toBe(result.transformed.rotate + result.transformed.tps + result.rejected);
      expect(last.batchFill).toBeGreaterThan(0);
    });

    it('skips an already published volume on rerun and re-runs a changed one', async () => {
      const again = await new VolumeWorker(cfg, s3, 'vol_A', undefined, { engine }).run();
      expect(again.status).toBe('skipped');
      expect(again.marker.finishedAt).toBe(result.marker.finishedAt);
      // A skipped rerun reports what the published table holds, not a run that corrected nothing.
      expect(result.transformed.rotate + result.transformed.tps).toBeGreaterThan(0);
      expect({ transformed: again.transformed, rejected: again.rejected }).toEqual({ transformed: result.transformed, rejected: result.rejected });

      const straight = await renderSyntheticPage({ seed: 77 });
      await s3.client.send(new PutObjectCommand({ Bucket: 'scans', Key: 'vol_A/page-0007.jpg', Body: straight }));
      const changed = await new VolumeWorker(cfg, s3, 'vol_A', undefined, { engine }).run();
      expect(changed).toMatchObject({ status: 'published', pages: 8, errors: 0 });
      expect(changed.marker.inputManifestSha256).not.toBe(result.marker.inputManifestSha256);
    });
  });

  describe('with the tiny model on a 300-page volume', () => {
    it('writes exactly 300 rows with a bounded number of pages in flight', async () => {
      const cfg = resolveConfig({ input: 's3://scans/big/', output: 's3://tables/out/', inflightPages: 12, analysisMaxSide: 512 });
      const images = await Promise.all([0, 3, -6].map((skewDeg, i) => renderSyntheticPage({ seed: i, skewDeg, width: 400, height: 566 })));
      for (let i = 0; i < 300; i++) {
        const body = i === 150 ? corruptJpeg() : images[i % images.length];
        await s3.client.send(new PutObjectCommand({ Bucket: 'scans', Key: `big/p${String(i).padStart(4, '0')}.png`, Body: body }));
      }
      const engine = await VolumeEngine.create(cfg, tinyAdapter(cfg));
      try {
        const worker = new VolumeWorker(cfg, s3, 'big', undefined, { engine, statsIntervalMs: 20 });
        let peakInside = 0;
        worker.stats$.subscribe((s) => (peakInside = Math.max(peakInside, s.stages.find((x) => x.stage === 'loop')?.inFlight ?? 0)));
        const result = await worker.run();
        const rows = await publishedRows(result);
        expect(rows).toHaveLength(300);
        expect(new Set(rows.map((r) => r.key)).size).toBe(300);
        expect(rows.filter((r) => r.status === 'error').map((r) => r.key)).toEqual(['big/p0150.png'.slice(4)]);
        expect(peakInside).toBeLessThanOrEqual(12);
        expect(peakInside).toBeGreaterThan(0);
      } finally {
        await engine.close();
      }
    });
  });
});
