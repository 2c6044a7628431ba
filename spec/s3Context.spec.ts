import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { defer, lastValueFrom, map, merge, toArray } from 'rxjs';
import { Credits, pullWithCredits } from '../operators';
import { resolveConfig } from '../src/config';
import { S3Context } from '../src/s3/context';
import { s3ClientConfigFor, startLocalS3Server, type LocalS3Server } from '../src/s3/localS3Server';
import { httpStatusOf } from '../src/s3/retry';
import { NotFoundError, WriteConflictError, openLocation, type Location } from '../src/store';
import { Prefetcher } from '../src/stages/prefetcher';
import { pageWork } from '../src/page';
import { isObjectGet, startFaultProxy, type FaultProxy } from './helpers/faultProxy';

describe('S3Context against s3rver through a fault proxy', () => {
  let server: LocalS3Server;
  let proxy: FaultProxy;
  let direct: S3Client;
  const body = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 251));
  const context = (opts: { maxInflightGlobal?: number; maxRetries?: number } = {}) =>
    new S3Context({ ...s3ClientConfigFor(proxy.endpoint), retryBaseMs: 2, requestTimeoutMs: 1000, ...opts });

  beforeAll(async () => {
    server = await startLocalS3Server({ buckets: ['in'] });
    proxy = await startFaultProxy(server.endpoint);
    direct = new S3Client(s3ClientConfigFor(server.endpoint));
    await direct.send(new PutObjectCommand({ Bucket: 'in', Key: 'obj.bin', Body: body }));
    for (const vol of ['v1', 'v2']) {
      for (let i = 0; i < 24; i++) await direct.send(new PutObjectCommand({ Bucket: 'in', Key: `${vol}/p${i}.jpg`, Body: `${vol}-${i}` }));
    }
  });
  afterAll(async () => {
    direct.destroy();
    await proxy.close();
    await server.stop();
  });

  it.each([
    ['slowdown', 3],
    ['reset', 2],
    ['stall', 1],
  ] as const)('retries through %s (%i times) and returns the whole body', async (fault, count) => {
    const s3 = context();
    proxy.inject(fault, count, isObjectGet);
    const got = await openLocation('s3://in/', s3).get('obj.bin');
    expect(Buffer.from(got.bytes).equals(body)).toBe(true);
    expect(s3.counters.retries).toBe(count);
    expect(s3.counters.requests).toBe(count + 1);
    expect(proxy.pendingFaults()).toBe(0);
    s3.destroy();
  });

  it('keeps retrying for retryForMs from the first attempt, then gives up', async () => {
    const s3 = new S3Context({ ...s3ClientConfigFor(proxy.endpoint), retryBaseMs: 20, maxBackoffMs: 50, retryForMs: 400 });
    proxy.inject('slowdown', 10_000, isObjectGet);
    try {
      const started = Date.now();
      await expect(openLocation('s3://in/', s3).get('obj.bin')).rejects.toMatchObject({ name: 'SlowDown' });
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(400);
      expect(elapsed).toBeLessThan(2000);
      expect(s3.counters.retries).toBeGreaterThan(5);
      expect(s3.counters.failures).toBe(1);
    } finally {
      proxy.clearFaults();
      s3.destroy();
    }
  });

  it('sends If-None-Match / If-Match on a conditional put, and a 412 is a WriteConflictError', async () => {
    const s3 = context();
    const out = openLocation('s3://in/cond/', s3);
    const header = (name: string, value: string) => (req: IncomingMessage) => req.method === 'PUT' && req.headers[name] === value;
    proxy.inject('precondition', 1, header('if-none-match', '*'));
    await expect(out.putText('m.json', '{}', { ifNoneMatch: true })).rejects.toBeInstanceOf(WriteConflictError);
    proxy.inject('precondition', 1, header('if-match', '"abc"'));
    await expect(out.putText('m.json', '{}', { ifMatch: '"abc"' })).rejects.toBeInstanceOf(WriteConflictError);
    expect(proxy.pendingFaults()).toBe(0);
    await out.putText('m.json', '{"a":1}');
    expect((await out.readText('m.json'))?.text).toBe('{"a":1}');
    s3.destroy();
  });

  it('refuses keys with ../ or ./ segments on S3 and keys leaving a folder, before any request or write', async () => {
    const s3 = context();
    const dir = mkdtempSync(join(tmpdir(), 'rxvolume-keys-'));
    try {
      const from = proxy.log.length;
      // On S3 any . or .. segment (HTTP normalises them); on a folder any key that resolves outside it.
      const cases: Array<[Location, string[]]> = [
        [openLocation('s3://in/deep/out/', s3), ['../x.json', 'a/../../x.json', './x.json', 'a/..', '..']],
        [openLocation(join(dir, 'out')), ['../x.json', 'a/../../x.json', '..']],
      ];
      for (const [location, keys] of cases) {
        for (const key of keys) {
          await expect(location.putText(key, '{}')).rejects.toThrow(/key leaves/);
          await expect(location.write(key)).rejects.toThrow(/key leaves/);
        }
      }
      expect(proxy.log.slice(from)).toEqual([]);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      s3.destroy();
    }
  });

  it('gives up after maxRetries', async () => {
    const s3 = context({ maxRetries: 2 });
    proxy.inject('slowdown', 3, isObjectGet);
    await expect(openLocation('s3://in/', s3).get('obj.bin')).rejects.toMatchObject({ name: 'SlowDown' });
    expect(s3.counters).toEqual({ requests: 3, retries: 2, failures: 1 });
    s3.destroy();
  });

  it('does not retry 404 or 403', async () => {
    const s3 = context();
    await expect(openLocation('s3://in/', s3).get('missing.jpg')).rejects.toBeInstanceOf(NotFoundError);
    const denied = new S3Context({ ...s3ClientConfigFor(proxy.endpoint), credentials: { accessKeyId: 'UNKNOWN', secretAccessKey: 'wrong' } });
    const err = await openLocation('s3://in/', denied).get('obj.bin').catch((e: unknown) => e);
    expect(httpStatusOf(err)).toBe(403);
    expect(s3.counters).toEqual({ requests: 1, retries: 0, failures: 1 });
    expect(denied.counters).toEqual({ requests: 1, retries: 0, failures: 1 });
    s3.destroy();
    denied.destroy();
  });

  it('abort stops a request in flight', async () => {
    const s3 = new S3Context({ ...s3ClientConfigFor(proxy.endpoint), requestTimeoutMs: 60_000 });
    proxy.inject('stall', 1, isObjectGet);
    const abort = new AbortController();
    const logFrom = proxy.log.length;
    const got = openLocation('s3://in/', s3).get('obj.bin', { signal: abort.signal });
    await proxy.seen(/^GET \/in\/obj\.bin/, logFrom);
    abort.abort();
    await expect(got).rejects.toMatchObject({ name: 'AbortError' });
    await proxy.idle();
    expect(s3.counters.retries).toBe(0);
    s3.destroy();
  });

  it('two volumes in one process share s3MaxInflightGlobal (counted at the proxy)', async () => {
    const s3 = context({ maxInflightGlobal: 3 });
    proxy.stats.peakConcurrent = 0;
    const volume = (id: string) =>
      defer(() => {
        const cfg = resolveConfig({ input: `s3://in/${id}/`, output: '/unused', prefetchConcurrency: 8, prefetchCapacity: 8 });
        const prefetcher = new Prefetcher(openLocation(cfg.input, s3, { limiter: s3.volumeLimiter(8, id) }), cfg, id);
        const listed = new Credits(8);
        const fetched = new Credits(8);
        return pullWithCredits(prefetcher.tasks(), listed).pipe(
          map((task) => pageWork(task)),
          prefetcher.fetch(fetched),
          map((work) => {
            listed.release();
            fetched.release();
            return work;
          }),
        );
      });
    const pages = await lastValueFrom(merge(volume('v1'), volume('v2')).pipe(toArray()));
    expect(pages).toHaveLength(48);
    expect(pages.every((p) => p.state === 'fetched' && Buffer.from(p.bytes).toString() === `${p.task.volumeId}-${p.task.key.slice(1, -4)}`)).toBe(true);
    expect(proxy.stats.peakConcurrent).toBeLessThanOrEqual(3);
    expect(s3.global.peak).toBe(3);
    s3.destroy();
  });
});

describe('startLocalS3Server', () => {
  it('serves the buckets it was asked for and removes its temporary directory on stop', async () => {
    const server = await startLocalS3Server({ buckets: ['a', 'b'] });
    const client = new S3Client(s3ClientConfigFor(server.endpoint));
    await client.send(new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: 'v' }));
    expect(existsSync(server.dir)).toBe(true);
    client.destroy();
    await server.stop();
    expect(existsSync(server.dir)).toBe(false);
  });
});
