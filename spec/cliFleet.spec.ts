import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Context, openLocation } from '../src';
import { renderSyntheticPage, s3ClientConfigFor, startLocalS3Server } from '../src/demo';
import { Worker, type ConnectionOptions } from 'bullmq';
import { fleetStatus, openVolumeQueue } from '../src/fleet';
import { BIN, cli, watchStderr } from './helpers/cli';
import type { Marker } from '../src/store/marker';
import { readParquet } from './helpers/duckdb';
import { startRedisServer, type RedisServer } from './helpers/redisServer';

async function mkdirp(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  return dir;
}

describe('rxvolume enqueue | worker | status', () => {
  let redis: RedisServer;
  let tmp: string;
  const queue = `cli-fleet-${process.pid}`;

  beforeAll(async () => {
    redis = await startRedisServer();
    tmp = await mkdtemp(join(tmpdir(), 'rxvolume-cli-fleet-'));
    const page = await renderSyntheticPage({ seed: 3, width: 400, height: 566 });
    for (const volume of ['vol_a', 'vol_b']) {
      const location = openLocation(join(tmp, 'in', volume));
      for (let i = 0; i < 3; i++) {
        const staged = await location.write(`p${i}.png`);
        staged.stream.end(page);
        await staged.finish();
      }
    }
  });
  afterAll(async () => {
    await redis.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  it('enqueues each volume once, runs them on a worker, and reports them completed', async () => {
    const common = ['--redis', redis.url, '--queue', queue];
    const enqueue = ['enqueue', '--input', join(tmp, 'in'), '--output', join(tmp, 'out'), '--model', 'tiny', ...common, '--json'];
    const first = await cli(enqueue);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout.trim().split('\n').pop() as string).added.sort()).toHaveLength(2);
    const again = await cli(enqueue);
    expect(JSON.parse(again.stdout.trim().split('\n').pop() as string)).toMatchObject({ added: [], existing: expect.any(Array) });

    const worker = spawn(process.execPath, [BIN, 'worker', ...common, '--model', 'tiny'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const log = watchStderr(worker);
    await log.waitFor(/published vol_a[\s\S]*published vol_b|published vol_b[\s\S]*published vol_a/);
    const exited = new Promise<number | null>((resolve) => worker.once('close', resolve));
    worker.kill('SIGTERM');
    expect(await exited).toBe(0);

    const status = await cli(['status', ...common, '--json']);
    expect(JSON.parse(status.stdout.trim().split('\n').pop() as string)).toMatchObject({ completed: 2, waiting: 0, active: 0, failed: 0 });
    for (const volume of ['vol_a', 'vol_b']) {
      const marker = JSON.parse(await readFile(join(tmp, 'out', volume, '_SUCCESS.json'), 'utf8')) as Marker;
      expect(marker).toMatchObject({ volumeId: volume, rows: 3 });
      expect((await readParquet(join(tmp, 'out', marker.parquet.key))).rows).toHaveLength(3);
    }
    expect(existsSync(join(tmp, 'out', '_staging', 'vol_a'))).toBe(false);
  });

  it('enqueue makes relative paths absolute; another output or model is another job, the same ones are not', async () => {
    const q = `${queue}-ids`;
    const enqueue = (output: string, model: string) =>
      new Promise<{ code: number | null; result: { added: string[]; existing: string[] } }>((resolve, reject) => {
        const child = spawn(process.execPath, [BIN, 'enqueue', '--input', 'in', '--output', output, '--model', model, '--redis', redis.url, '--queue', q, '--json'], { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
        child.once('error', reject);
        child.once('close', (code) => resolve({ code, result: JSON.parse(stdout.trim().split('\n').pop() as string) }));
      });
    const first = await enqueue('out-a', 'tiny');
    expect(first.code).toBe(0);
    expect(first.result.added).toHaveLength(2);
    expect((await enqueue('out-a', 'tiny')).result).toMatchObject({ added: [], existing: first.result.added });
    const otherOutput = await enqueue('out-b', 'tiny');
    expect(otherOutput.result.added).toHaveLength(2);
    const otherModel = await enqueue('out-a', 'default');
    expect(otherModel.result.added).toHaveLength(2);
    expect(new Set([...first.result.added, ...otherOutput.result.added, ...otherModel.result.added]).size).toBe(6);

    const status = await cli(['status', '--redis', redis.url, '--queue', q, '--json']);
    const volumes = (JSON.parse(status.stdout.trim().split('\n').pop() as string) as { volumes: Array<{ id: string }> }).volumes;
    expect(volumes).toHaveLength(6);
    const queued = await openVolumeQueue({ redisUrl: redis.url, queueName: q });
    try {
      const job = await queued.getJob(first.result.added[0]);
      expect(job?.data).toMatchObject({ input: join(tmp, 'in', job?.data.volumeId ?? ''), output: join(tmp, 'out-a') });
    } finally {
      await queued.close();
    }
  });

  it('a volume whose images changed after enqueueing fails with the reason, nothing published', async () => {
    const q = `${queue}-moved`;
    const common = ['--redis', redis.url, '--queue', q];
    const input = join(tmp, 'moving');
    const page = await readFile(join(tmp, 'in', 'vol_a', 'p0.png'));
    for (let i = 0; i < 2; i++) await writeFile(join(await mkdirp(join(input, 'vol_m')), `p${i}.png`), page);
    expect((await cli(['enqueue', '--input', input, '--output', join(tmp, 'moved-out'), '--model', 'tiny', ...common])).code).toBe(0);
    await rm(join(input, 'vol_m', 'p1.png'));
    const worker = spawn(process.execPath, [BIN, 'worker', ...common, '--model', 'tiny'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const log = watchStderr(worker);
    await log.waitFor(/failed vol_m-\S+: volume vol_m changed since it was enqueued \(2 images then, 1 in .*vol_m now\); enqueue it again/);
    const exited = new Promise<number | null>((resolve) => worker.once('close', resolve));
    worker.kill('SIGTERM');
    expect(await exited).toBe(0);
    const status = JSON.parse((await cli(['status', ...common, '--json'])).stdout.trim().split('\n').pop() as string);
    expect(status).toMatchObject({ failed: 1, completed: 0 });
    expect(existsSync(join(tmp, 'moved-out', 'vol_m'))).toBe(false);
  });

  it('status, enqueue and worker exit 1 within seconds, naming the URL, when Redis does not answer', async () => {
    const nowhere = 'redis://127.0.0.1:9';
    for (const args of [['status'], ['enqueue', '--input', join(tmp, 'in'), '--output', join(tmp, 'out'), '--model', 'tiny'], ['worker', '--model', 'tiny']]) {
      const started = Date.now();
      const run = await cli([...args, '--redis', nowhere]);
      expect([args[0], run.code]).toEqual([args[0], 1]);
      expect(run.stderr).toMatch(/cannot reach Redis at redis:\/\/127\.0\.0\.1:9/);
      expect(Date.now() - started).toBeLessThan(30_000);
    }
  });

  it('one SIGTERM stops a worker that is still waiting for Redis', async () => {
    // A port that accepts connections but never answers: the worker waits for Redis.
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const url = `redis://127.0.0.1:${(silent.address() as AddressInfo).port}`;
      const worker = spawn(process.execPath, [BIN, 'worker', '--model', 'tiny', '--redis', url], { stdio: ['ignore', 'pipe', 'pipe'] });
      const exited = new Promise<number | null>((resolve) => worker.once('close', resolve));
      await new Promise<void>((resolve) => silent.once('connection', () => resolve()));
      worker.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      silent.close();
    }
  });

  it('status shows an active job whose lock ran out as stalled, and warns that this Redis keeps nothing across restarts', async () => {
    const q = `${queue}-stalled`;
    const jobs = openVolumeQueue({ redisUrl: redis.url, queueName: q });
    const taker = new Worker(q, null, { connection: { url: redis.url } as ConnectionOptions });
    try {
      await jobs.add('vol_s', { volumeId: 'vol_s', input: '/in/vol_s', output: '/out', manifestSha256: 'x', pages: 1 }, { jobId: 'vol_s-1' });
      const job = await taker.getNextJob('token-1');
      expect(job?.id).toBe('vol_s-1');
      expect((await fleetStatus({ redisUrl: redis.url, queueName: q })).volumes[0].state).toBe('active');
      // The worker holding it dies: its lock runs out.
      await (await jobs.client).del(jobs.toKey('vol_s-1:lock'));
      const status = await fleetStatus({ redisUrl: redis.url, queueName: q });
      expect(status).toMatchObject({ active: 1, stalled: 1, volumes: [{ id: 'vol_s-1', state: 'stalled' }] });
      expect(status.warnings).toEqual([expect.stringMatching(/Redis has no persistence/)]);
      const printed = await cli(['status', '--redis', redis.url, '--queue', q]);
      expect(printed.stdout).toMatch(/active 1 \(stalled 1\)/);
      expect(printed.stdout).toMatch(/vol_s\s+stalled/);
      expect(printed.stderr).toMatch(/warning: Redis has no persistence/);
    } finally {
      await taker.close();
      await jobs.close();
    }
  });

  it('names a bad flag and exits 2', async () => {
    const bad = await cli(['worker', '--volumes-per-process', 'many']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/--volumes-per-process/);
  });
});

describe('rxvolume enqueue | worker with the publish flags of run, on s3rver', () => {
  const S3ENV = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };
  let redis: RedisServer;
  let server: Awaited<ReturnType<typeof startLocalS3Server>>;
  let s3: S3Context;

  beforeAll(async () => {
    [redis, server] = await Promise.all([startRedisServer(), startLocalS3Server({ buckets: ['scans', 'tables'] })]);
    s3 = new S3Context(s3ClientConfigFor(server.endpoint));
    const page = await renderSyntheticPage({ seed: 4, width: 400, height: 566 });
    const big = await renderSyntheticPage({ seed: 5, width: 800, height: 1132 });
    const put = async (key: string, bytes: Uint8Array) => {
      const staged = await openLocation('s3://scans/batch/', s3).write(key);
      staged.stream.end(bytes);
      await staged.finish();
    };
    await put('vol_img/p0.png', page);
    await put('vol_img/p1.png', page);
    await put('vol_big/p0.png', page);
    await put('vol_big/p1.png', big);
    await put('vol_empty/notes.txt', Buffer.from('no pages here'));
  });
  afterAll(async () => {
    s3?.destroy();
    await Promise.all([server?.stop(), redis?.stop()]);
  });

  it('--images, --image-quality and --max-pixels go with each job and the worker runs them; the worker\'s --allow-empty publishes an empty volume', async () => {
    const common = ['--redis', redis.url, '--queue', `cli-fleet-flags-${process.pid}`, '--endpoint', server.endpoint, '--model', 'tiny'];
    const content = ['--images', 'jpeg', '--image-quality', '70', '--max-pixels', '300000'];
    const enqueued = await cli(['enqueue', '--input', 's3://scans/batch/', '--output', 's3://tables/out/', ...content, ...common, '--json'], S3ENV);
    expect(enqueued.code).toBe(0);
    const added = (JSON.parse(enqueued.stdout.trim().split('\n').pop() as string) as { added: string[] }).added;
    expect(added).toHaveLength(3);
    const queued = openVolumeQueue({ redisUrl: redis.url, queueName: `cli-fleet-flags-${process.pid}` });
    try {
      expect((await queued.getJob(added[0]))?.data.configOverrides).toEqual({ images: 'jpeg', imageQuality: 70, maxInputPixels: 300000 });
    } finally {
      await queued.close();
    }

    const worker = spawn(process.execPath, [BIN, 'worker', ...content, '--allow-empty', ...common], { env: { ...process.env, ...S3ENV }, stdio: ['ignore', 'pipe', 'pipe'] });
    const log = watchStderr(worker);
    const exited = new Promise<number | null>((resolve) => worker.once('close', resolve));
    for (const volume of ['vol_img', 'vol_big', 'vol_empty']) await log.waitFor(new RegExp(`(published|failed) ${volume}-.*`));
    worker.kill('SIGTERM');
    expect(await exited).toBe(0);

    const output = openLocation('s3://tables/out/', s3);
    const read = async (volume: string) => {
      const marker = JSON.parse((await output.readText(`${volume}/_SUCCESS.json`))?.text ?? 'null') as Marker;
      return { marker, rows: (await readParquet((await output.get(marker.parquet.key)).bytes)).rows };
    };
    const img = await read('vol_img');
    expect(img.marker).toMatchObject({ rows: 2, okRows: 2, images: { format: 'jpeg', count: 2 } });
    for (const row of img.rows) {
      expect(row.image_key).toMatch(/\.jpg$/);
      expect(Array.from((await output.get(row.image_key as string)).bytes.subarray(0, 2))).toEqual([0xff, 0xd8]);
    }
    const big = await read('vol_big');
    expect(big.rows.map((r) => [r.key, r.status])).toEqual([['p0.png', 'ok'], ['p1.png', 'error']]);
    expect(big.rows[1].error).toMatch(/image too large: 800×1132 = 905600 pixels, over the limit of 300000/);
    expect((await read('vol_empty')).marker).toMatchObject({ rows: 0, inputs: 0 });
  });
});
