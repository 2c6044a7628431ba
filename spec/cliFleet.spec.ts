import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLocation, renderSyntheticPage } from '../src';
import { BIN, cli, watchStderr } from './helpers/cli';
import { readParquet } from './helpers/duckdb';
import { startRedisServer, type RedisServer } from './helpers/redisServer';

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
    const enqueue = ['enqueue', '--input', join(tmp, 'in'), '--output', join(tmp, 'out'), ...common, '--json'];
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
      const marker = JSON.parse(await readFile(join(tmp, 'out', volume, '_SUCCESS.json'), 'utf8'));
      expect(marker).toMatchObject({ volumeId: volume, rows: 3 });
      expect((await readParquet(join(tmp, 'out', volume, 'part-00000.parquet'))).rows).toHaveLength(3);
    }
    expect(existsSync(join(tmp, 'out', '_staging', 'vol_a'))).toBe(false);
  });

  it('names a bad flag and exits 2', async () => {
    const bad = await cli(['worker', '--volumes-per-process', 'many']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/--volumes-per-process/);
  });
});
