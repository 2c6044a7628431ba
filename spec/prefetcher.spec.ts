import { DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { from, lastValueFrom, map, Subject, toArray } from 'rxjs';
import { Credits } from '../operators';
import { resolveConfig, type PipelineConfig } from '../src/config';
import { S3Context } from '../src/s3/context';
import { s3ClientConfigFor, startLocalS3Server, type LocalS3Server } from '../src/s3/localS3Server';
import { openLocation } from '../src/store';
import { S3ParquetWriter } from '../src/stages/parquetWriter';
import { writeParquet } from '../src/stages/writeParquet';
import { manifestSha256, Prefetcher } from '../src/stages/prefetcher';
import { pageWork, type ListedPage } from '../src/page';
import { emptyTimings, type ImageTask, type VolumeRecord } from '../src/types';
import type { AnyPage } from './helpers/pages';
import { readParquet } from './helpers/duckdb';
import { isObjectGet, startFaultProxy, type FaultProxy } from './helpers/faultProxy';

const isList = (line: string) => /^GET \/in\/?\?.*list-type=2/.test(line);

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Fetches every task, giving each credit back as the page arrives (as the decoder would). */
function fetchAll(prefetcher: Prefetcher, tasks: ImageTask[], capacity = 4): Promise<AnyPage[]> {
  const fetched = new Credits(capacity);
  return lastValueFrom(
    from(tasks).pipe(
      map((t) => pageWork(t)),
      prefetcher.fetch(fetched),
      map((w) => (fetched.release(), w)),
      toArray(),
    ),
  );
}

describe('Prefetcher on s3rver', () => {
  let server: LocalS3Server;
  let proxy: FaultProxy;
  let direct: S3Client;
  let s3: S3Context;
  const put = (Key: string, Body: string) => direct.send(new PutObjectCommand({ Bucket: 'in', Key, Body }));
  const prefetcher = (prefix: string, cfg: Partial<PipelineConfig> = {}) => {
    const full = resolveConfig({ input: `s3://in/${prefix}`, output: '/unused', listPageSize: 4, prefetchConcurrency: 3, ...cfg });
    return new Prefetcher(openLocation(full.input, s3), full, prefix.replace(/\/$/, ''));
  };

  beforeAll(async () => {
    server = await startLocalS3Server({ buckets: ['in'] });
    proxy = await startFaultProxy(server.endpoint);
    direct = new S3Client(s3ClientConfigFor(server.endpoint));
    s3 = new S3Context({ ...s3ClientConfigFor(proxy.endpoint), retryBaseMs: 2, retryForMs: 2000, requestTimeoutMs: 1000 });
    for (let i = 0; i < 25; i++) await put(`vol/p${String(i).padStart(2, '0')}.jpg`, `page ${i}`);
    await put('vol/notes.txt', 'not an image');
    await put('vol/scan.TIFF', 'upper-case extension');
    await put('vol/sub/deep.png', 'nested');
    await put('other/p.jpg', 'another volume');
  });
  afterAll(async () => {
    s3.destroy();
    direct.destroy();
    await proxy.close();
    await server.stop();
  });

  it('lists every page across ListObjectsV2 pages, images only, seq in listing order', async () => {
    const before = proxy.log.filter(isList).length;
    const tasks = await collect(prefetcher('vol/').tasks());
    expect(tasks.map((t) => t.key)).toEqual([...Array.from({ length: 25 }, (_, i) => `p${String(i).padStart(2, '0')}.jpg`), 'scan.TIFF', 'sub/deep.png']);
    expect(tasks.map((t) => t.seq)).toEqual(tasks.map((_, i) => i));
    expect(tasks.every((t) => t.volumeId === 'vol' && /^"[0-9a-f]{32}"$/.test(t.etag) && t.size > 0)).toBe(true);
    expect(proxy.log.filter(isList).length - before).toBe(Math.ceil(28 / 4));
  });

  it('lists lazily: no next page is requested while the consumer does not pull', async () => {
    const before = proxy.log.filter(isList).length;
    const it = prefetcher('vol/').tasks();
    // Page 1 is notes.txt + p00..p02 (3 images), page 2 is p03..p06.
    for (let i = 0; i < 7; i++) await it.next();
    expect(proxy.log.filter(isList).length - before).toBe(2);
    expect((await it.next()).value?.key).toBe('p07.jpg');
    expect(proxy.log.filter(isList).length - before).toBe(3);
    await it.return(undefined);
  });

  it('manifest() hashes the full listing with manifestSha256', async () => {
    const p = prefetcher('vol/');
    const tasks = await collect(p.tasks());
    expect(await p.manifest()).toEqual({ inputs: 27, sha256: manifestSha256(tasks) });
    expect(manifestSha256([...tasks].reverse())).toBe(manifestSha256(tasks));
    expect(manifestSha256(tasks.slice(1))).not.toBe(manifestSha256(tasks));
  });

  it('fetches bytes through injected faults; a vanished object and a changed ETag become error items', async () => {
    for (let i = 0; i < 6; i++) await put(`mix/p${i}.jpg`, `mix ${i}`);
    const p = prefetcher('mix/');
    const tasks = await collect(p.tasks());
    await direct.send(new DeleteObjectCommand({ Bucket: 'in', Key: 'mix/p1.jpg' }));
    await put('mix/p4.jpg', 'rewritten after listing');
    proxy.inject('slowdown', 2, isObjectGet);
    proxy.inject('reset', 2, isObjectGet);
    const retriesBefore = s3.counters.retries;

    const pages = (await fetchAll(p, tasks)).sort((a, b) => a.task.seq - b.task.seq);
    expect(pages.map((w) => w.error === undefined)).toEqual([true, false, true, true, false, true]);
    expect(pages[1].error).toMatch(/p1\.jpg.*not found/);
    expect(pages[4].error).toMatch(/p4\.jpg.*ETag changed/);
    expect([pages[1].errorKind, pages[4].errorKind]).toEqual(['input', 'input']);
    expect(pages[4].bytes).toBeUndefined();
    for (const i of [0, 2, 3, 5]) {
      expect(Buffer.from(pages[i].bytes ?? []).toString()).toBe(`mix ${i}`);
      expect(pages[i].timings!.fetchMs).toBeGreaterThan(0);
    }
    expect(proxy.pendingFaults()).toBe(0);
    expect(s3.counters.retries - retriesBefore).toBe(4);
  });

  it('a page the store keeps refusing through every retry is an error of kind transient', async () => {
    await put('flaky/p0.jpg', 'flaky 0');
    const p = new Prefetcher(openLocation('s3://in/flaky/', new S3Context({ ...s3ClientConfigFor(proxy.endpoint), retryBaseMs: 2, retryForMs: 300 })), resolveConfig({ input: 's3://in/flaky/', output: '/unused' }), 'flaky');
    const tasks = await collect(p.tasks());
    proxy.inject('slowdown', 10_000, (req) => isObjectGet(req) && req.url?.includes('/flaky/') === true);
    try {
      const [page] = await fetchAll(p, tasks);
      expect(page.error).toMatch(/SlowDown/);
      expect(page.errorKind).toBe('transient');
    } finally {
      proxy.clearFaults();
    }
  });

  it('holds a fetched credit per page until the decoder gives it back', async () => {
    const p = prefetcher('vol/');
    const tasks = (await collect(p.tasks())).slice(0, 10);
    const fetched = new Credits(3);
    const input = new Subject<ListedPage>();
    const seen: AnyPage[] = [];
    let arrived: Array<{ n: number; resolve: () => void }> = [];
    const count = (n: number) => new Promise<void>((resolve) => (seen.length >= n ? resolve() : arrived.push({ n, resolve })));
    const sub = input.pipe(p.fetch(fetched)).subscribe((w) => {
      seen.push(w);
      arrived = arrived.filter((a) => (a.n <= seen.length ? (a.resolve(), false) : true));
    });
    const logFrom = proxy.log.length;
    for (const t of tasks) input.next(pageWork(t));
    await count(3);
    expect(fetched.inUse).toBe(3);
    const requested = () => proxy.log.slice(logFrom).filter((line) => /^GET \/in\/vol\/p\d+\.jpg/.test(line)).length;
    expect(requested()).toBe(3); // pages 4..10 wait for a credit: not even requested
    fetched.release();
    await count(4);
    expect(requested()).toBe(4);
    expect(fetched.inUse).toBe(3);
    sub.unsubscribe();
  });

  it('unsubscribing aborts the GETs in flight', async () => {
    const p = prefetcher('vol/');
    const tasks = (await collect(p.tasks())).slice(0, 3);
    proxy.inject('stall', 3, isObjectGet);
    const seen: AnyPage[] = [];
    const logFrom = proxy.log.length;
    const sub = from(tasks).pipe(map((t) => pageWork(t)), p.fetch(new Credits(3))).subscribe((w) => seen.push(w));
    for (const t of tasks) await proxy.seen(new RegExp(`^GET /in/vol/${t.key}`), logFrom);
    sub.unsubscribe();
    await proxy.idle(); // stalled requests end only when the client drops them
    expect(seen).toEqual([]);
    expect(proxy.pendingFaults()).toBe(0);
  });
});

describe('Prefetcher and writer on local directories', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rxvolume-local-'));
    await mkdir(join(dir, 'in/sub'), { recursive: true });
    for (let i = 0; i < 5; i++) await writeFile(join(dir, `in/p${i}.jpg`), `local ${i}`);
    await writeFile(join(dir, 'in/sub/q.PNG'), 'nested');
    await writeFile(join(dir, 'in/readme.md'), 'skip me');
  });
  // GNU rm removes paths longer than PATH_MAX (Node's rm does not).
  afterAll(() => execFileSync('rm', ['-rf', dir]));

  it('lists, fetches and publishes a table whose rows match the inputs', async () => {
    const cfg = resolveConfig({ input: join(dir, 'in'), output: join(dir, 'out'), listPageSize: 2 });
    const p = new Prefetcher(openLocation(cfg.input), cfg, 'loc');
    const tasks = await collect(p.tasks());
    expect(tasks.map((t) => t.key)).toEqual(['p0.jpg', 'p1.jpg', 'p2.jpg', 'p3.jpg', 'p4.jpg', 'sub/q.PNG']);
    await writeFile(join(dir, 'in/p3.jpg'), 'changed after listing!');
    const pages = await fetchAll(p, tasks);
    const output = openLocation(cfg.output);
    const writer = new S3ParquetWriter(output, output.child('_staging'), { volumeId: 'loc', rowGroupSize: 4 });
    const info = () => ({ model: { name: 'm', sha256: 's' }, modelFiles: { model: 's' }, configSha256: 'c', analysisVersion: 1, input: cfg.input, startedAt: new Date(0).toISOString(), libraryVersion: 't' });
    const result = await lastValueFrom(from(pages).pipe(map(toRecord), writeParquet(writer, info)));
    expect(result.marker).toMatchObject({ rows: 6, okRows: 5, errorRows: 1, inputManifestSha256: manifestSha256(tasks) });
    const table = await readParquet(join(cfg.output, result.marker.parquet.key));
    expect(table.rows.map((r) => [r.key, r.status, r.width])).toEqual([
      ['p0.jpg', 'ok', 7], ['p1.jpg', 'ok', 7], ['p2.jpg', 'ok', 7], ['p3.jpg', 'error', null], ['p4.jpg', 'ok', 7], ['sub/q.PNG', 'ok', 6],
    ]);
    expect(table.rows[3].error).toMatch(/ETag changed/);
  });

  it('follows links to files and folders (a loop is walked once); a FIFO, a dangling link and a name too long are error rows; nothing is skipped silently', async () => {
    const odd = join(dir, 'odd');
    await mkdir(join(odd, 'real'), { recursive: true });
    await writeFile(join(odd, 'a.jpg'), 'a');
    await writeFile(join(odd, 'real/r.jpg'), 'r');
    await symlink(join(odd, 'a.jpg'), join(odd, 'b-link.jpg'));
    await symlink(join(odd, 'real'), join(odd, 'c-folder-link'));
    await symlink(odd, join(odd, 'real/loop'));
    await symlink(join(odd, 'gone.jpg'), join(odd, 'd-dangling.jpg'));
    execFileSync('mkfifo', [join(odd, 'e-fifo.jpg')]);
    // A path longer than PATH_MAX (4096), built inside a folder a few levels deep.
    let deep = join(odd, 'f-deep');
    for (let i = 0; i < 20; i++) deep = join(deep, 'x'.repeat(250));
    execFileSync('mkdir', ['-p', deep.slice(odd.length + 1)], { cwd: odd });
    const cfg = resolveConfig({ input: odd, output: join(dir, 'odd-out') });
    const p = new Prefetcher(openLocation(odd), cfg, 'odd');
    const tasks = await collect(p.tasks());
    const pages = (await fetchAll(p, tasks)).sort((x, y) => x.task.seq - y.task.seq);
    const byKey = Object.fromEntries(pages.map((w) => [w.task.key, w.error ?? Buffer.from(w.bytes ?? []).toString()]));
    expect(Object.keys(byKey).filter((k) => !k.startsWith('f-deep/'))).toEqual(['a.jpg', 'b-link.jpg', 'c-folder-link/r.jpg', 'd-dangling.jpg', 'e-fifo.jpg']);
    expect(byKey['a.jpg']).toBe('a');
    expect(byKey['b-link.jpg']).toBe('a');
    expect(byKey['c-folder-link/r.jpg']).toBe('r');
    expect(byKey['d-dangling.jpg']).toMatch(/vanished .*or a broken link/);
    expect(byKey['e-fifo.jpg']).toMatch(/not a regular file \(a FIFO\)/);
    const deepRows = Object.entries(byKey).filter(([k]) => k.startsWith('f-deep/'));
    expect(deepRows).toHaveLength(1);
    expect(deepRows[0][1]).toMatch(/ENAMETOOLONG/);
  });

  it('a file removed between readdir and stat is one error row, the rest of the listing goes on', async () => {
    const v = join(dir, 'vanish');
    await mkdir(v, { recursive: true });
    for (let i = 0; i < 4; i++) await writeFile(join(v, `p${i}.jpg`), `v${i}`);
    const location = openLocation(v);
    const cfg = resolveConfig({ input: v, output: join(dir, 'vanish-out'), listPageSize: 1 });
    const p = new Prefetcher(location, cfg, 'vanish');
    const tasks: ImageTask[] = [];
    for await (const task of p.tasks()) {
      tasks.push(task);
      // p0 is listed: the folder was read, so p2 is removed after readdir and before its stat.
      if (task.key === 'p0.jpg') await rm(join(v, 'p2.jpg'));
    }
    expect(tasks.map((t) => [t.key, t.error ?? 'ok'])).toEqual([['p0.jpg', 'ok'], ['p1.jpg', 'ok'], ['p2.jpg', expect.stringMatching(/vanished/)], ['p3.jpg', 'ok']]);
  });

  it('a missing input folder is an error naming it, not an empty volume', async () => {
    const p = new Prefetcher(openLocation(join(dir, 'no-such')), resolveConfig({ input: join(dir, 'no-such'), output: '/unused' }), 'none');
    await expect(collect(p.tasks())).rejects.toThrow(`${join(dir, 'no-such')} does not exist`);
  });
});

/** A stand-in for the rest of the pipeline: the byte count as `width`. */
function toRecord(w: AnyPage): VolumeRecord {
  const t = { ...emptyTimings(), ...w.timings };
  const ok = w.error === undefined;
  return {
    volume_id: w.task.volumeId, seq: w.task.seq, key: w.task.key, etag: w.task.etag, status: ok ? 'ok' : 'error', error: w.error ?? null, error_kind: ok ? null : w.errorKind ?? 'input',
    width: ok ? (w.bytes?.length ?? 0) : null, height: null, orientation_deg: null, orientation_confidence: null, skew_deg: null, confidence: null, transform: 'none',
    rejected_transform: null, residual_skew_deg: null, curvature_px: null, residual_curvature_px: null, text_lines: null, text_coverage: null,
    passes: 1, fetch_ms: t.fetchMs, decode_ms: 0, infer_ms: 0, transform_ms: 0, total_ms: t.fetchMs,
    applied_rotation_deg: null, image_width: null, image_height: null, dewarp_points: null, image_key: null,
  };
}
