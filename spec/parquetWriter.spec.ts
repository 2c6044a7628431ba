import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { firstValueFrom, from, Subject, lastValueFrom } from 'rxjs';
import { S3Context } from '../src/s3/context';
import { s3ClientConfigFor, startLocalS3Server, type LocalS3Server } from '../src/s3/localS3Server';
import { openLocation, type Location } from '../src/store';
import { isPublished, S3ParquetWriter, type PublishInfo } from '../src/stages/parquetWriter';
import { writeParquet } from '../src/stages/writeParquet';
import { GuardedSink } from '../src/store/parquetSink';
import { ANALYSIS_VERSION, tableIntact, type Marker, type MarkerIdentity } from '../src/store/marker';
import { manifestSha256 } from '../src/stages/prefetcher';
import type { VolumeRecord } from '../src/types';
import { readParquet } from './helpers/duckdb';
import { startFaultProxy, type FaultProxy } from './helpers/faultProxy';

const info: PublishInfo = {
  model: { name: 'det', sha256: 'm1' }, modelFiles: { model: 'm1', classifierPath: 'k1' }, configSha256: 'c1', analysisVersion: ANALYSIS_VERSION,
  input: 's3://scans/x/', startedAt: '2026-01-01T00:00:00.000Z', libraryVersion: '0.1.0',
};

/** The identity a rerun of `rows` with `info` would expect. */
function identityOf(rows: VolumeRecord[]): MarkerIdentity {
  return { inputManifestSha256: manifestSha256(rows), model: info.model, modelFiles: info.modelFiles, configSha256: info.configSha256, analysisVersion: info.analysisVersion };
}

/** Row `seq` of a volume: even rows ok with measurements, odd rows errors with nulls. */
function record(volumeId: string, seq: number, etag = `"e${seq}"`): VolumeRecord {
  const ok = seq % 2 === 0;
  return {
    volume_id: volumeId, seq, key: `pages/p${String(seq).padStart(4, '0')}.jpg`, etag,
    status: ok ? 'ok' : 'error', error: ok ? null : `decode failed: ${seq} ✗`, error_kind: ok ? null : 'input',
    width: ok ? 1000 + seq : null, height: ok ? 1500 + seq : null, orientation_deg: ok ? 90 : null, orientation_confidence: ok ? 0.875 : null,
    skew_deg: ok ? -1.25 + seq / 8 : null, confidence: ok ? 0.75 : null,
    transform: ok ? 'rotate' : 'none', rejected_transform: seq % 4 === 0 ? 'tps' : null,
    residual_skew_deg: ok ? 0.125 : null, curvature_px: ok ? 2.5 : null, residual_curvature_px: ok ? 0.5 : null,
    text_lines: ok ? seq * 3 : null, text_coverage: ok ? 0.375 : null, passes: ok ? 2 : 1,
    fetch_ms: seq + 0.5, decode_ms: 1.5, infer_ms: 2.5, transform_ms: 3.5, total_ms: 8 + seq,
    applied_rotation_deg: ok ? 88.75 : null, image_width: ok ? 1500 + seq : null, image_height: ok ? 1000 + seq : null,
    dewarp_points: seq % 4 === 0 ? '{"smoothing":0.00001,"source":[[1.5,2]],"target":[[1.5,2.25]]}' : null,
    image_key: null,
  };
}

async function keysUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, rel: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      if (e.isDirectory()) await walk(join(d, e.name), `${rel}${e.name}/`);
      else out.push(`${rel}${e.name}`);
    }
  };
  await walk(dir, '');
  return out.sort();
}

/** Every key under a location, via its own listing. */
async function listAll(loc: Location): Promise<string[]> {
  const keys: string[] = [];
  for await (const page of loc.list({ pageSize: 1000 })) keys.push(...page.map((e) => e.key));
  return keys.sort();
}

describe('S3ParquetWriter on s3rver', () => {
  let server: LocalS3Server;
  let proxy: FaultProxy;
  let s3: S3Context;
  let output: Location;
  let staging: Location;

  beforeAll(async () => {
    server = await startLocalS3Server({ buckets: ['out'] });
    proxy = await startFaultProxy(server.endpoint);
    s3 = new S3Context({ ...s3ClientConfigFor(proxy.endpoint), maxRetries: 2, retryBaseMs: 5 });
    output = openLocation('s3://out/tables/', s3);
    staging = output.child('_staging');
  });
  afterAll(async () => {
    s3.destroy();
    await proxy.close();
    await server.stop();
  });

  const write = (volumeId: string, rows: VolumeRecord[], opts: { rowGroupSize?: number; allowEmpty?: boolean } = {}) =>
    lastValueFrom(from(rows).pipe(writeParquet(new S3ParquetWriter(output, staging, { volumeId, rowGroupSize: opts.rowGroupSize ?? 7, allowEmpty: opts.allowEmpty }), () => info)));

  it('publishes a Parquet table DuckDB reads back with the right types and values, marker last', async () => {
    const rows = Array.from({ length: 20 }, (_, i) => record('vol-a', i));
    const afterRow: number[] = [];
    const writer = new S3ParquetWriter(output, staging, { volumeId: 'vol-a', rowGroupSize: 7 });
    const result = await lastValueFrom(from(rows).pipe(writeParquet(writer, () => info, { afterRow: (r) => afterRow.push(r.seq) })));

    expect(afterRow).toEqual(rows.map((r) => r.seq));
    expect(result.marker).toMatchObject({
      volumeId: 'vol-a', rows: 20, okRows: 10, errorRows: 10, inputs: 20,
      inputManifestSha256: manifestSha256(rows), model: info.model, modelFiles: info.modelFiles, configSha256: 'c1', analysisVersion: ANALYSIS_VERSION,
      parquet: { key: `vol-a/part-00000-${writer.attemptId}.parquet` }, input: info.input, attemptId: writer.attemptId, startedAt: info.startedAt, libraryVersion: '0.1.0',
    });
    expect(result.superseded).toBe(false);
    expect(await listAll(output)).toEqual(['vol-a/_SUCCESS.json', result.marker.parquet.key]);

    const bytes = (await output.get(result.marker.parquet.key)).bytes;
    expect(result.marker.parquet.bytes).toBe(bytes.length);
    const table = await readParquet(bytes);
    expect(table.types).toMatchObject({
      volume_id: 'VARCHAR', seq: 'BIGINT', key: 'VARCHAR', etag: 'VARCHAR', status: 'VARCHAR', error: 'VARCHAR', error_kind: 'VARCHAR',
      width: 'INTEGER', height: 'INTEGER', orientation_deg: 'INTEGER', skew_deg: 'DOUBLE', confidence: 'DOUBLE',
      transform: 'VARCHAR', rejected_transform: 'VARCHAR', residual_skew_deg: 'DOUBLE', curvature_px: 'DOUBLE',
      residual_curvature_px: 'DOUBLE', text_lines: 'INTEGER', text_coverage: 'DOUBLE', passes: 'INTEGER',
      fetch_ms: 'DOUBLE', decode_ms: 'DOUBLE', infer_ms: 'DOUBLE', transform_ms: 'DOUBLE', total_ms: 'DOUBLE',
    });
    expect(Object.keys(table.types).sort()).toEqual(Object.keys(rows[0]).sort());
    expect(table.rows).toEqual(rows.map((r) => ({ ...r, seq: BigInt(r.seq) })));
  });

  it('detects an identical rerun (every part of the identity, and the table as written) and replaces the table when the input changed', async () => {
    const rows = Array.from({ length: 5 }, (_, i) => record('vol-b', i));
    const first = await write('vol-b', rows);
    const expect1 = identityOf(rows);
    expect(await isPublished(output, 'vol-b', expect1)).toEqual(first.marker);
    expect(await isPublished(output, 'vol-b', { ...expect1, configSha256: 'other' })).toBeUndefined();
    expect(await isPublished(output, 'vol-b', { ...expect1, modelFiles: { ...info.modelFiles, classifierPath: 'k2' } })).toBeUndefined();
    expect(await isPublished(output, 'vol-b', { ...expect1, analysisVersion: ANALYSIS_VERSION + 1 })).toBeUndefined();

    const changed = rows.map((r, i) => (i === 2 ? record('vol-b', i, '"changed"') : r)).concat(record('vol-b', 5));
    const changedManifest = identityOf(changed);
    expect(await isPublished(output, 'vol-b', changedManifest)).toBeUndefined();

    const second = await write('vol-b', changed);
    expect(second.marker.rows).toBe(6);
    expect(second.marker.parquet.key).not.toBe(first.marker.parquet.key);
    expect(await isPublished(output, 'vol-b', changedManifest)).toEqual(second.marker);
    expect(await S3ParquetWriter.readMarker(output, 'vol-b')).toEqual(second.marker);
    const table = await readParquet((await output.get(second.marker.parquet.key)).bytes);
    expect(table.rows.map((r) => r.etag)).toEqual(changed.map((r) => r.etag));
    // The superseded table is gone, so is staging.
    expect((await listAll(output)).filter((k) => k.startsWith('vol-b/'))).toEqual(['vol-b/_SUCCESS.json', second.marker.parquet.key]);
    expect((await listAll(staging)).filter((k) => k.startsWith('vol-b/'))).toEqual([]);
  });

  it('writes the marker on the condition that it is the one read, and writes again after losing the condition', async () => {
    const rows = [record('vol-k', 0)];
    const isMarkerPut = (cond: string) => (req: IncomingMessage) => req.method === 'PUT' && (req.url ?? '').includes('/vol-k/_SUCCESS.json') && req.headers[cond] !== undefined;
    // First publish: If-None-Match, and it loses once (as if another attempt had just published).
    proxy.inject('precondition', 1, isMarkerPut('if-none-match'));
    const first = await write('vol-k', rows);
    expect(proxy.pendingFaults()).toBe(0);
    // Second publish: If-Match the first marker's ETag.
    proxy.inject('precondition', 1, isMarkerPut('if-match'));
    const second = await write('vol-k', [record('vol-k', 0, '"k2"')]);
    expect(proxy.pendingFaults()).toBe(0);
    expect(await S3ParquetWriter.readMarker(output, 'vol-k')).toEqual(second.marker);
    expect((await listAll(output)).filter((k) => k.startsWith('vol-k/'))).toEqual(['vol-k/_SUCCESS.json', second.marker.parquet.key]);
    expect(first.marker.parquet.key).not.toBe(second.marker.parquet.key);
  });

  it('does not take a marker whose table is missing or not as written for published', async () => {
    const rows = [record('vol-g', 0)];
    const { marker } = await write('vol-g', rows);
    await output.putText(marker.parquet.key, 'not the table');
    expect(await isPublished(output, 'vol-g', identityOf(rows))).toBeUndefined();
    await output.delete(marker.parquet.key);
    expect(await isPublished(output, 'vol-g', identityOf(rows))).toBeUndefined();
  });

  it('leaves no table, marker or staging object when cancelled mid-write', async () => {
    // Incompressible rows, so that the multipart upload is under way when the cancel comes.
    const rows = new Subject<VolumeRecord>();
    const writer = new S3ParquetWriter(output, staging, { volumeId: 'vol-c', rowGroupSize: 250 });
    let appended = 0;
    const logFrom = proxy.log.length;
    const sub = rows.pipe(writeParquet(writer, () => info, { afterRow: () => void appended++ })).subscribe();
    for (let i = 0; i < 6000; i++) rows.next({ ...record('vol-c', i), error: randomBytes(2000).toString('base64') });
    await proxy.seen(/^PUT \/out\/tables\/_staging\/vol-c\/.*partNumber=1/, logFrom);
    sub.unsubscribe();
    await writer.abort();

    expect(appended).toBeLessThan(6000);
    expect(proxy.log.some((line) => /^POST \/out\/tables\/_staging\/vol-c\/.*uploadId=/.test(line))).toBe(false); // never completed
    expect(proxy.log.some((line) => /^DELETE \/out\/tables\/_staging\/vol-c\/.*uploadId=/.test(line))).toBe(true); // upload aborted
    expect(await S3ParquetWriter.readMarker(output, 'vol-c')).toBeUndefined();
    expect((await listAll(output)).filter((k) => k.includes('vol-c'))).toEqual([]);
    await expect(writer.append(record('vol-c', 1))).rejects.toThrow(/aborted/);
  });

  it('aborts and errors when the source errors, publishing nothing', async () => {
    const rows = new Subject<VolumeRecord>();
    const done = firstValueFrom(rows.pipe(writeParquet(new S3ParquetWriter(output, staging, { volumeId: 'vol-d', rowGroupSize: 2 }), () => info)));
    rows.next(record('vol-d', 0));
    rows.error(new Error('upstream broke'));
    await expect(done).rejects.toThrow('upstream broke');
    expect((await listAll(output)).filter((k) => k.includes('vol-d'))).toEqual([]);
  });

  it('refuses an empty volume unless allowed, then publishes it as a valid table with no rows', async () => {
    await expect(write('vol-none', [])).rejects.toThrow(/no page images in s3:\/\/scans\/x\/.*--allow-empty/);
    expect((await listAll(output)).filter((k) => k.includes('vol-none'))).toEqual([]);
    const result = await write('vol-none', [], { allowEmpty: true });
    expect(result.marker).toMatchObject({ rows: 0, okRows: 0, errorRows: 0, inputs: 0, inputManifestSha256: manifestSha256([]) });
    const table = await readParquet((await output.get(result.marker.parquet.key)).bytes);
    expect(table.rows).toEqual([]);
    expect(table.types.seq).toBe('BIGINT');
  });

  it('publishes nothing when a row failed for a transient reason (the store was unreachable through the retries)', async () => {
    const rows = [record('vol-t', 0), { ...record('vol-t', 1), error: 'fetch p1: ECONNREFUSED', error_kind: 'transient' as const }, record('vol-t', 2)];
    await expect(write('vol-t', rows)).rejects.toThrow(/1 page\(s\) of vol-t could not be fetched after all retries .*ECONNREFUSED.*nothing was published/);
    expect((await listAll(output)).filter((k) => k.includes('vol-t'))).toEqual([]);
  });

  it('refuses a row of another volume (an error, nothing published)', async () => {
    await expect(write('vol-e', [record('vol-e', 0), record('vol-x', 1)])).rejects.toThrow(/vol-x/);
    expect((await listAll(output)).filter((k) => k.includes('vol-e'))).toEqual([]);
  });
});

describe('S3ParquetWriter on a local directory', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rxvolume-writer-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('stages a file, renames it into place and writes the marker; a rerun is detected', async () => {
    const output = openLocation(dir);
    const rows = Array.from({ length: 9 }, (_, i) => record('vol-l', i));
    const result = await lastValueFrom(from(rows).pipe(writeParquet(new S3ParquetWriter(output, output.child('_staging'), { volumeId: 'vol-l', rowGroupSize: 4 }), () => info)));
    // No empty _staging/ folder is left behind.
    expect(await readdir(dir)).toEqual(['vol-l']);
    expect(await keysUnder(dir)).toEqual(['vol-l/_SUCCESS.json', result.marker.parquet.key]);
    const table = await readParquet(join(dir, result.marker.parquet.key));
    expect(table.rows).toEqual(rows.map((r) => ({ ...r, seq: BigInt(r.seq) })));
    expect(await isPublished(output, 'vol-l', identityOf(rows))).toEqual(result.marker);
  });

  it('a rewrite replaces the earlier table without a warning (an attempt without page images has no pages/ folder to remove)', async () => {
    const output = openLocation(join(dir, 'rewrite'));
    const publish = (rows: VolumeRecord[]) => lastValueFrom(from(rows).pipe(writeParquet(new S3ParquetWriter(output, output.child('_staging'), { volumeId: 'vol-r', rowGroupSize: 4 }), () => info)));
    const first = await publish([record('vol-r', 0)]);
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const second = await publish([record('vol-r', 0, '"changed"')]);
      expect(warn).not.toHaveBeenCalled();
      expect(await keysUnder(join(dir, 'rewrite'))).toEqual(['vol-r/_SUCCESS.json', second.marker.parquet.key]);
      expect(second.marker.parquet.key).not.toBe(first.marker.parquet.key);
    } finally {
      warn.mockRestore();
    }
  });

  it('fails cleanly when the staging disk is full (ENOSPC): the error is the writer\'s, nothing published, staging removed', async () => {
    const output = openLocation(join(dir, 'full'));
    await mkdir(join(dir, 'full', '_staging', 'vol-f', 'att1'), { recursive: true });
    // The staging file is /dev/full: every write to it fails with ENOSPC.
    await symlink('/dev/full', join(dir, 'full', '_staging', 'vol-f', 'att1', 'part-00000.parquet'));
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const rows = Array.from({ length: 50 }, (_, i) => ({ ...record('vol-f', i), error: randomBytes(3000).toString('base64') }));
      const writer = new S3ParquetWriter(output, output.child('_staging'), { volumeId: 'vol-f', rowGroupSize: 10, attemptId: 'att1' });
      await expect(lastValueFrom(from(rows).pipe(writeParquet(writer, () => info)))).rejects.toThrow(/ENOSPC/);
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
      expect(await keysUnder(join(dir, 'full'))).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('two attempts publishing one volume at once: the marker names a table that is there as written, the other table is removed', async () => {
    const output = openLocation(join(dir, 'race'));
    for (let t = 0; t < 10; t++) {
      const rows = (n: number) => [record('vol-r', 0, `"t${t}-${n}"`)];
      const [a, b] = await Promise.all([1, 2].map((n) => lastValueFrom(from(rows(n)).pipe(writeParquet(new S3ParquetWriter(output, output.child('_staging'), { volumeId: 'vol-r', rowGroupSize: 4 }), () => info)))));
      const marker = await S3ParquetWriter.readMarker(output, 'vol-r');
      expect([a.marker.parquet.key, b.marker.parquet.key]).toContain(marker?.parquet.key);
      expect(await tableIntact(output, marker as Marker)).toBe(true);
      expect(await keysUnder(join(dir, 'race'))).toEqual(['vol-r/_SUCCESS.json', marker?.parquet.key]);
    }
  });

  it('cleans up staging when aborted', async () => {
    const output = openLocation(join(dir, 'b'));
    const writer = new S3ParquetWriter(output, output.child('_staging'), { volumeId: 'vol-m', rowGroupSize: 1 });
    await writer.append(record('vol-m', 0));
    // Its staged table, and the empty file beside it that names the process (for a later run to tell a killed attempt).
    expect(await keysUnder(join(dir, 'b'))).toEqual([expect.stringMatching(/^_staging\/vol-m\/[^/]+\/owner\.[0-9a-f]{12}-\d+$/), expect.stringMatching(/^_staging\/vol-m\/[^/]+\/part-00000\.parquet$/)]);
    await writer.abort();
    // Not even an empty _staging/<volume>/<attempt>/ folder is left.
    expect(existsSync(join(dir, 'b', '_staging'))).toBe(false);
  });
});

describe('GuardedSink', () => {
  /** A full garbage collection (`gc` of a context made after `--expose-gc` is set). */
  function collectGarbage(): void {
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
  }

  /** Guards `n` calls, as the writer does once per row, and returns weak references to their outcomes. */
  async function guardCalls(sink: GuardedSink, n: number): Promise<Array<WeakRef<object>>> {
    const outcomes: Array<WeakRef<object>> = [];
    for (let i = 0; i < n; i++) {
      const outcome = { row: i };
      outcomes.push(new WeakRef(outcome));
      expect(await sink.guard(Promise.resolve(outcome))).toBe(outcome);
    }
    return outcomes;
  }

  it("keeps nothing of a call once it settled: a volume's rows do not pile up in the sink", async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'rxvolume-sink-')), 'part.parquet');
    const target = createWriteStream(file);
    const sink = new GuardedSink(target);
    const outcomes = await guardCalls(sink, 200);
    await new Promise((resolve) => setImmediate(resolve)); // WeakRefs hold their targets until the job that made them ends
    collectGarbage();
    expect(outcomes.filter((ref) => ref.deref() !== undefined)).toHaveLength(0);
    target.destroy();
    await rm(join(file, '..'), { recursive: true, force: true });
  });

  it("rejects a call still running with the staging stream's first error, and every later call at once", async () => {
    const sink = new GuardedSink(createWriteStream('/dev/full')); // every write fails with ENOSPC
    const running = sink.guard(new Promise<never>(() => undefined));
    sink.stream.write(Buffer.alloc(16));
    await expect(running).rejects.toThrow(/ENOSPC/);
    await expect(sink.guard(Promise.resolve(1))).rejects.toThrow(/ENOSPC/);
  });
});
