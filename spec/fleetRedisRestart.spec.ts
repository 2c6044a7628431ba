import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { QueueEvents } from 'bullmq';
import { S3Context, openLocation } from '../src';
import { renderSyntheticPage, s3ClientConfigFor, startLocalS3Server } from '../src/demo';
import { enqueueVolumes, fleetStatus, type VolumeJobProgress } from '../src/fleet';
import { readMarker, type Marker } from '../src/store/marker';
import { readParquet } from './helpers/duckdb';
import { startFleetWorker, type WorkerProcess } from './helpers/fleetWorker';
import { startOwnRedisServer, type OwnRedisServer } from './helpers/redisServer';

/** Three small volumes: id → pages. */
const VOLUMES: Record<string, number> = { vol_r: 24, vol_s: 16, vol_t: 20 };
const PIPELINE = { analysisMaxSide: 512, decodeWorkers: 1, inferWorkers: 1, transformWorkers: 1 };
const INPUT = 's3://scans/restart/';
const OUTPUT = 's3://tables/restart/';
/** How long the spec waits for the worker to log the outage, and for the queue to drain once Redis is back. */
const OUTAGE_SEEN_MS = 30_000;
const DRAIN_TIMEOUT_MS = 90_000;

const pageKey = (i: number) => `page-${String(i).padStart(4, '0')}.jpg`;

/**
 * Redis goes away under a working fleet worker (crashed, not shut down) in the middle of a volume and
 * comes back on the same port with its append-only file. The worker must ride it out: stay up, see
 * the outage, reconnect, and finish the queue, every volume published once with exactly its rows.
 */
describe('a fleet worker whose Redis crashes in the middle of a volume and comes back', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rxvolume-redis-'));
  const queueName = `rxvolume-restart-spec-${process.pid}`;
  let redis: OwnRedisServer;
  let server: Awaited<ReturnType<typeof startLocalS3Server>>;
  let s3: S3Context;
  let worker: WorkerProcess;
  let crashedIn: { jobId: string; done: number; total: number };
  let outageLine: string;
  let status: Awaited<ReturnType<typeof fleetStatus>>;

  beforeAll(async () => {
    [redis, server] = await Promise.all([startOwnRedisServer({ dir }), startLocalS3Server({ buckets: ['scans', 'tables'] })]);
    s3 = new S3Context({ ...s3ClientConfigFor(server.endpoint), maxInflightGlobal: 16 });
    const images = await Promise.all([0, 4].map((skewDeg, seed) => renderSyntheticPage({ seed, skewDeg, width: 400, height: 566 })));
    for (const [id, pages] of Object.entries(VOLUMES)) {
      for (let i = 0; i < pages; i++) await s3.client.send(new PutObjectCommand({ Bucket: 'scans', Key: `restart/${id}/${pageKey(i)}`, Body: images[i % 2] }));
    }
    worker = await startFleetWorker({
      redisUrl: redis.url, queueName, volumesPerProcess: 1, model: 'tiny', configOverrides: PIPELINE, s3: s3ClientConfigFor(server.endpoint),
      lockDurationMs: 3000, stalledIntervalMs: 1000, progressIntervalMs: 100,
    });
    const events = new QueueEvents(queueName, { connection: { url: redis.url } });
    await events.waitUntilReady();
    const midVolume = new Promise<{ jobId: string; done: number; total: number }>((resolve) =>
      events.on('progress', ({ jobId, data }) => {
        const p = data as unknown as VolumeJobProgress;
        if (p.done > 0 && p.done < p.total / 2) resolve({ jobId, done: p.done, total: p.total });
      }),
    );
    await enqueueVolumes({ redisUrl: redis.url, queueName, input: INPUT, output: OUTPUT, s3, model: 'tiny', configOverrides: { analysisMaxSide: 512 } });
    crashedIn = await midVolume;
    await events.close();
    await redis.crash();
    const crashedAt = Date.now();
    outageLine = await Promise.race([
      worker.logLine(/error: .*(ECONNREFUSED|Connection is closed|ECONNRESET)/),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`the worker logged no Redis error within ${OUTAGE_SEEN_MS} ms of the crash:\n${worker.log()}`)), OUTAGE_SEEN_MS).unref()),
    ]);
    redis = await startOwnRedisServer({ port: redis.port, dir });
    const backAt = Date.now();
    // Every job's completion, read from the start of the queue's event stream (kept in the append-only file).
    const afterRestart = new QueueEvents(queueName, { connection: { url: redis.url }, lastEventId: '0-0' });
    const completed = new Set<string>();
    const drained = new Promise<void>((resolve) =>
      afterRestart.on('completed', ({ jobId }) => {
        completed.add(jobId);
        if (completed.size === Object.keys(VOLUMES).length) resolve();
      }),
    );
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        drained,
        new Promise<never>((_, reject) => {
          timer = setTimeout(async () => reject(new Error(`the queue did not drain within ${DRAIN_TIMEOUT_MS} ms after Redis came back: ${JSON.stringify(await fleetStatus({ redisUrl: redis.url, queueName }))}\n${worker.log()}`)), DRAIN_TIMEOUT_MS);
        }),
      ]);
    } finally {
      clearTimeout(timer);
      await afterRestart.close();
    }
    status = await fleetStatus({ redisUrl: redis.url, queueName });
    process.stdout.write(
      `redis restart: crashed at ${crashedIn.done}/${crashedIn.total} rows of ${crashedIn.jobId}, down ${((backAt - crashedAt) / 1000).toFixed(1)} s, ` +
        `queue drained ${((Date.now() - backAt) / 1000).toFixed(1)} s later; results ${status.volumes.map((v) => `${v.volumeId}:${v.result?.status}`).join(' ')}\n`,
    );
  }, 150_000);

  afterAll(async () => {
    if (worker && worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
    await worker?.exited;
    s3?.destroy();
    await Promise.all([server?.stop(), redis?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('crashed Redis while a volume was half done, and the worker saw the outage', () => {
    expect(crashedIn.done).toBeGreaterThan(0);
    expect(crashedIn.done).toBeLessThan(crashedIn.total);
    expect(outageLine).toMatch(/error:/);
  });

  it('completes every job once Redis is back, none failed, and the worker is still up', () => {
    expect(status).toMatchObject({ completed: Object.keys(VOLUMES).length, failed: 0, active: 0, waiting: 0 });
    for (const v of status.volumes) expect(v.result).toMatchObject({ volumeId: v.volumeId, pages: VOLUMES[v.volumeId] });
    expect(worker.child.exitCode).toBeNull();
  });

  it('publishes every volume once, with exactly its rows (read back with DuckDB), and leaves nothing in staging', async () => {
    const output = openLocation(OUTPUT, s3);
    for (const [volumeId, pages] of Object.entries(VOLUMES)) {
      const marker = (await readMarker(output, volumeId)) as Marker;
      expect(marker).toMatchObject({ volumeId, rows: pages, okRows: pages, errorRows: 0 });
      const { rows } = await readParquet((await output.get(marker.parquet.key)).bytes);
      expect(rows.map((r) => String(r.key))).toEqual(Array.from({ length: pages }, (_, i) => pageKey(i)));
    }
    const staging: string[] = [];
    for await (const page of openLocation(`${OUTPUT}_staging/`, s3).list({ pageSize: 1000 })) staging.push(...page.map((e) => e.key));
    expect(staging).toEqual([]);
  });

  it('stops cleanly on SIGTERM afterwards', async () => {
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
  });
});
