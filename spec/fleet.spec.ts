import { spawn } from 'node:child_process';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { QueueEvents, UnrecoverableError } from 'bullmq';
import { S3Context, openLocation, resolveEngineConfig } from '../src';
import { renderSyntheticPage, s3ClientConfigFor, startLocalS3Server } from '../src/demo';
import { enqueueVolumes, fleetStatus, type VolumeJobData, type VolumeJobProgress } from '../src/fleet';
import { volumeConfig } from '../src/fleet/volumeJob';
import { readMarker, type Marker } from '../src/store/marker';
import { readParquet } from './helpers/duckdb';
import { CONSUMER_MAIN, startFleetWorker, type WorkerProcess } from './helpers/fleetWorker';
import { startRedisServer, type RedisServer } from './helpers/redisServer';

/** Six small volumes: id → pages. */
const VOLUMES: Record<string, number> = { vol_a: 12, vol_b: 16, vol_c: 10, vol_d: 20, vol_e: 14, vol_f: 18 };
/** The pipeline settings of the workers and the jobs: small pools, small analysis frames. */
const PIPELINE = { analysisMaxSide: 512, decodeWorkers: 1, inferWorkers: 1, transformWorkers: 1 };
const INPUT = 's3://scans/batch/';
const OUTPUT = 's3://tables/out/';

const pageKey = (i: number) => `page-${String(i).padStart(4, '0')}.jpg`;

describe('a fleet of worker processes on Redis (BullMQ) and s3rver', () => {
  let redis: RedisServer;
  let server: Awaited<ReturnType<typeof startLocalS3Server>>;
  let s3: S3Context;
  const queueName = `rxvolume-fleet-spec-${process.pid}-${Date.now()}`;
  const workers: WorkerProcess[] = [];

  async function startWorker(queue: string, volumesPerProcess: number): Promise<WorkerProcess> {
    const proc = await startFleetWorker({
      redisUrl: redis.url, queueName: queue, volumesPerProcess, model: 'tiny', configOverrides: PIPELINE, s3: s3ClientConfigFor(server.endpoint),
      lockDurationMs: 3000, stalledIntervalMs: 1000, progressIntervalMs: 100,
    });
    workers.push(proc);
    return proc;
  }

  beforeAll(async () => {
    [redis, server] = await Promise.all([startRedisServer(), startLocalS3Server({ buckets: ['scans', 'tables'] })]);
    s3 = new S3Context({ ...s3ClientConfigFor(server.endpoint), maxInflightGlobal: 16 });
    const images = await Promise.all([0, 3, -5].map((skewDeg, seed) => renderSyntheticPage({ seed, skewDeg, width: 400, height: 566 })));
    for (const [id, pages] of Object.entries(VOLUMES)) {
      for (let i = 0; i < pages; i++) {
        await s3.client.send(new PutObjectCommand({ Bucket: 'scans', Key: `batch/${id}/${pageKey(i)}`, Body: images[i % images.length] }));
      }
    }
  }, 60_000);

  afterAll(async () => {
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    await Promise.all(workers.map((w) => w.exited));
    s3?.destroy();
    await Promise.all([server?.stop(), redis?.stop()]);
  });

  describe('two workers, two volumes each at a time, one of them SIGKILLed in the middle of a volume', () => {
    let enqueued: Awaited<ReturnType<typeof enqueueVolumes>>;
    let killed: { jobId: string; volumeId: string; pid: number; done: number; total: number; at: number; markerAtKill?: Marker };
    /** When the other worker took the killed worker's job, and when it completed it. */
    let pickedUpAt: number;
    let recoveredAt: number;
    const stalled = new Set<string>();
    /** Every marker read while the jobs ran (read on each progress event), with the rows its volume has. */
    const observedMarkers: Array<{ volumeId: string; marker: Marker }> = [];
    let survivor: WorkerProcess;

    beforeAll(async () => {
      const [first, second] = await Promise.all([startWorker(queueName, 2), startWorker(queueName, 2)]);
      const events = new QueueEvents(queueName, { connection: { url: redis.url } });
      await events.waitUntilReady();
      const output = openLocation(OUTPUT, s3);
      const completed = new Set<string>();
      const observing: Array<Promise<void>> = [];
      const allDone = new Promise<void>((resolve) => {
        events.on('completed', ({ jobId }) => {
          completed.add(jobId);
          if (jobId === killed?.jobId) recoveredAt = Date.now();
          if (completed.size === Object.keys(VOLUMES).length) resolve();
        });
      });
      events.on('stalled', ({ jobId }) => stalled.add(jobId));
      events.on('active', ({ jobId }) => {
        if (jobId === killed?.jobId) pickedUpAt = Date.now();
      });
      events.on('progress', ({ jobId, data }) => {
        const progress = data as unknown as VolumeJobProgress;
        const volumeId = jobId.replace(/-[0-9a-f]{16}-[0-9a-f]{12}$/, '');
        observing.push(readMarker(output, volumeId).then((marker) => void (marker && observedMarkers.push({ volumeId, marker }))));
        if (killed || progress.done === 0 || progress.done > progress.total / 2) return;
        const pid = Number(progress.worker.split(':').pop());
        const victim = [first, second].find((w) => w.pid === pid) as WorkerProcess;
        victim.child.kill('SIGKILL');
        survivor = victim === first ? second : first;
        killed = { jobId, volumeId, pid, done: progress.done, total: progress.total, at: Date.now() };
        observing.push(victim.exited.then(() => readMarker(output, volumeId)).then((m) => void (killed.markerAtKill = m)));
      });
      const started = Date.now();
      enqueued = await enqueueVolumes({ redisUrl: redis.url, queueName, input: INPUT, output: OUTPUT, s3, model: 'tiny', configOverrides: { analysisMaxSide: 512 } });
      await allDone;
      await Promise.all(observing);
      await events.close();
      process.stdout.write(
        `fleet: ${Object.keys(VOLUMES).length} volumes in ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
          `killed ${killed.volumeId} at ${killed.done}/${killed.total} rows; the other worker took it ${((pickedUpAt - killed.at) / 1000).toFixed(1)} s ` +
          `and published it ${((recoveredAt - killed.at) / 1000).toFixed(1)} s after the kill; jobs put back: ${stalled.size}\n`,
      );
    }, 150_000);

    it('enqueues one job per volume', () => {
      expect(enqueued.existing).toEqual([]);
      expect(enqueued.added.map((id) => id.replace(/-[0-9a-f]{16}-[0-9a-f]{12}$/, '')).sort()).toEqual(Object.keys(VOLUMES).sort());
    });

    it('publishes every volume once, with exactly its rows (read back with DuckDB)', async () => {
      const output = openLocation(OUTPUT, s3);
      for (const [volumeId, pages] of Object.entries(VOLUMES)) {
        const marker = await readMarker(output, volumeId);
        expect(marker).toMatchObject({ volumeId, rows: pages, okRows: pages, errorRows: 0, inputs: pages });
        const { rows } = await readParquet((await output.get((marker as Marker).parquet.key)).bytes);
        const keys = rows.map((r) => String(r.key));
        expect(keys).toEqual(Array.from({ length: pages }, (_, i) => pageKey(i)));
        expect(new Set(keys).size).toBe(pages);
        expect(rows.every((r) => r.volume_id === volumeId)).toBe(true);
      }
    });

    it("puts the killed worker's job back and the other worker publishes it", async () => {
      expect(killed.done).toBeLessThan(killed.total);
      expect(killed.markerAtKill).toBeUndefined();
      expect(stalled.has(killed.jobId)).toBe(true);
      expect(pickedUpAt).toBeGreaterThan(killed.at);
      const job = (await fleetStatus({ redisUrl: redis.url, queueName })).volumes.find((v) => v.id === killed.jobId);
      expect(job).toMatchObject({ state: 'completed', result: { status: 'published', pages: killed.total } });
      expect(job?.progress?.worker).toBe(`${job?.progress?.worker.split(':')[0]}:${survivor.pid}`);
      const results = (await fleetStatus({ redisUrl: redis.url, queueName })).volumes.map((v) => v.result);
      expect(results.filter((r) => r?.status === 'published')).toHaveLength(6);
    });

    it('never shows a marker of a half-written volume, and leaves nothing in staging', async () => {
      expect(observedMarkers.length).toBeGreaterThan(0);
      for (const { volumeId, marker } of observedMarkers) expect(marker.rows).toBe(VOLUMES[volumeId]);
      const staging: string[] = [];
      for await (const page of openLocation(`${OUTPUT}_staging/`, s3).list({ pageSize: 1000 })) staging.push(...page.map((e) => e.key));
      expect(staging).toEqual([]);
    });

    it('reports the counts and each volume with its result', async () => {
      const status = await fleetStatus({ redisUrl: redis.url, queueName });
      expect(status).toMatchObject({ waiting: 0, active: 0, completed: 6, failed: 0, delayed: 0 });
      expect(status.volumes).toHaveLength(6);
      for (const v of status.volumes) {
        expect(v.state).toBe('completed');
        expect(v.result).toMatchObject({ volumeId: v.volumeId, status: 'published', pages: VOLUMES[v.volumeId] });
        expect(v.progress).toMatchObject({ done: VOLUMES[v.volumeId], total: VOLUMES[v.volumeId], errors: 0 });
      }
    });

    it('adds no jobs when the same volumes are enqueued again', async () => {
      const again = await enqueueVolumes({ redisUrl: redis.url, queueName, input: INPUT, output: OUTPUT, s3, model: 'tiny', configOverrides: { analysisMaxSide: 512 } });
      expect(again.added).toEqual([]);
      expect(again.existing.sort()).toEqual([...enqueued.added].sort());
      expect(await fleetStatus({ redisUrl: redis.url, queueName })).toMatchObject({ waiting: 0, active: 0, completed: 6 });
    });

    it('stops a worker cleanly on SIGTERM', async () => {
      survivor.child.kill('SIGTERM');
      expect(await survivor.exited).toBe(0);
    });
  });

  describe('the same volumes on a second queue, then a worker stopped with SIGTERM in the middle of a volume', () => {
    const queue2 = `${queueName}-again`;
    const LATE: Record<string, number> = { vol_g: 20, vol_h: 10 };
    const output = () => openLocation(OUTPUT, s3);
    let worker: WorkerProcess;
    let events: QueueEvents;
    const markersBefore: Record<string, Marker | undefined> = {};

    /** Resolves with the ids of the next `n` jobs of queue2 that complete. */
    const completions = (n: number) =>
      new Promise<string[]>((resolve) => {
        const ids: string[] = [];
        const onCompleted = ({ jobId }: { jobId: string }) => {
          ids.push(jobId);
          if (ids.length < n) return;
          events.off('completed', onCompleted);
          resolve(ids);
        };
        events.on('completed', onCompleted);
      });

    beforeAll(async () => {
      for (const id of Object.keys(VOLUMES)) markersBefore[id] = await readMarker(output(), id);
      const image = await renderSyntheticPage({ seed: 7, width: 400, height: 566 });
      for (const [id, pages] of Object.entries(LATE)) {
        for (let i = 0; i < pages; i++) await s3.client.send(new PutObjectCommand({ Bucket: 'scans', Key: `late/${id}/${pageKey(i)}`, Body: image }));
      }
      await s3.client.send(new PutObjectCommand({ Bucket: 'scans', Key: `odd/vol_x/${pageKey(0)}`, Body: image }));
      events = new QueueEvents(queue2, { connection: { url: redis.url } });
      await events.waitUntilReady();
      worker = await startWorker(queue2, 1);
    }, 60_000);
    afterAll(() => events?.close());

    it('finds every volume already published and leaves its table and marker as they were', async () => {
      const done = completions(6);
      const added = await enqueueVolumes({ redisUrl: redis.url, queueName: queue2, input: INPUT, output: OUTPUT, s3, model: 'tiny', configOverrides: { analysisMaxSide: 512 } });
      expect(added.added).toHaveLength(6);
      await done;
      const status = await fleetStatus({ redisUrl: redis.url, queueName: queue2 });
      expect(status.volumes.map((v) => v.result?.status)).toEqual(Array(6).fill('skipped'));
      for (const id of Object.keys(VOLUMES)) expect(await readMarker(output(), id)).toEqual(markersBefore[id]);
    }, 60_000);

    it('fails a volume that asks for other model settings at once, with the reason, and publishes nothing', async () => {
      const failed = new Promise<string>((resolve) => events.once('failed', ({ jobId }) => resolve(jobId)));
      const { added } = await enqueueVolumes({ redisUrl: redis.url, queueName: queue2, input: 's3://scans/odd/', output: OUTPUT, s3, model: 'tiny', configOverrides: { analysisMaxSide: 512, patchSize: 256 } });
      expect(await failed).toBe(added[0]);
      const status = await fleetStatus({ redisUrl: redis.url, queueName: queue2 });
      expect(status).toMatchObject({ failed: 1, completed: 6 });
      expect(status.volumes.find((v) => v.id === added[0])).toMatchObject({ volumeId: 'vol_x', state: 'failed', attempts: 1 });
      expect(status.volumes.find((v) => v.id === added[0])?.failedReason).toMatch(/patchSize=256 \(worker: 512\)/);
      expect(await readMarker(output(), 'vol_x')).toBeUndefined();
    }, 60_000);

    it('lets the volume in progress finish and publish on SIGTERM, and takes no other', async () => {
      const halfway = new Promise<string>((resolve) =>
        events.on('progress', ({ jobId, data }) => {
          const p = data as unknown as VolumeJobProgress;
          if (p.done > 0 && p.done <= p.total / 2) resolve(jobId);
        }),
      );
      await enqueueVolumes({ redisUrl: redis.url, queueName: queue2, input: 's3://scans/late/', output: OUTPUT, s3, model: 'tiny', configOverrides: { analysisMaxSide: 512 } });
      const inProgress = await halfway;
      worker.child.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
      const status = await fleetStatus({ redisUrl: redis.url, queueName: queue2 });
      const running = status.volumes.find((v) => v.id === inProgress);
      expect(running).toMatchObject({ state: 'completed', result: { status: 'published', pages: LATE[running?.volumeId ?? ''] } });
      const untouched = status.volumes.filter((v) => v.volumeId in LATE && v.id !== inProgress);
      expect(untouched.map((v) => v.state)).toEqual(['waiting']);
      expect(await readMarker(output(), untouched[0].volumeId)).toBeUndefined();
    }, 60_000);
  });

  it('a worker process with no Redis URL exits 1 and says why', async () => {
    const child = spawn(process.execPath, [CONSUMER_MAIN, '{}'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toMatch(/redisUrl .* is required/);
  });

  describe('volumeConfig', () => {
    const engineCfg = resolveEngineConfig(PIPELINE);
    const data: VolumeJobData = { volumeId: 'v', input: 's3://scans/v/', output: OUTPUT, manifestSha256: 'x', pages: 1 };

    it("takes the per-volume settings a job asks for and keeps the worker's pools", () => {
      const cfg = volumeConfig(engineCfg, { ...data, configOverrides: { inflightPages: 4, rowGroupSize: 10, analysisMaxSide: 512, inferWorkers: 4 } });
      expect(cfg).toMatchObject({ input: data.input, output: OUTPUT, inflightPages: 4, rowGroupSize: 10, analysisMaxSide: 512, inferWorkers: 1 });
    });

    it("takes the worker's volume settings for those a job does not set", () => {
      const cfg = volumeConfig(engineCfg, { ...data, configOverrides: { inflightPages: 4 } }, { inflightPages: 9, prefetchConcurrency: 3 });
      expect(cfg).toMatchObject({ inflightPages: 4, prefetchConcurrency: 3 });
    });

    it('refuses, for good, a job that asks for other model settings than the worker runs', () => {
      const run = () => volumeConfig(engineCfg, { ...data, configOverrides: { patchSize: 256 } });
      expect(run).toThrow(UnrecoverableError);
      expect(run).toThrow(/patchSize=256 \(worker: 512\)/);
    });
  });
});
