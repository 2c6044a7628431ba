import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstValueFrom, from, Subject, lastValueFrom } from 'rxjs';
import { S3Context } from '../src/s3/context';
import { s3ClientConfigFor, startLocalS3Server, type LocalS3Server } from '../src/s3/localS3Server';
import { openLocation, type Location } from '../src/store';
import { isPublished, S3ParquetWriter, writeParquet, type PublishInfo } from '../src/stages/parquetWriter';
import { manifestSha256 } from '../src/stages/prefetcher';
import type { VolumeRecord } from '../src/types';
import { readParquet } from './helpers/duckdb';
import { startFaultProxy, type FaultProxy } from './helpers/faultProxy';

const info: PublishInfo = { model: { name: 'det', sha256: 'm1' }, configSha256: 'c1', startedAt: '2026-01-01T00:00:00.000Z', libraryVersion: '0.1.0' };

/** Row `seq` of a volume: even rows ok with measurements, odd rows errors with nulls. */
function record(volumeId: string, seq: number, etag = `"e${seq}"`): VolumeRecord {
  const ok = seq % 2 === 0;
  return {
    volume_id: volumeId, seq, key: `pages/p${String(seq).padStart(4, '0')}.jpg`, etag,
    status: ok ? 'ok' : 'error', error: ok ? null : `decode failed: ${seq} ✗`,
    width: ok ? 1000 + seq : null, height: ok ? 1500 + seq : null, orientation_deg: ok ? 90 : null,
    skew_deg: ok ? -1.25 + seq / 8 : null, confidence: ok ? 0.75 : null,
    transform: ok ? 'rotate' : 'none', rejected_transform: seq % 4 === 0 ? 'tps' : null,
    residual_skew_deg: ok ? 0.125 : null, curvature_px: ok ? 2.5 : null, residual_curvature_px: ok ? 0.5 : null,
    text_lines: ok ? seq * 3 : null, text_coverage: ok ? 0.375 : null, passes: ok ? 2 : 1,
    fetch_ms: seq + 0.5, decode_ms: 1.5, infer_ms: 2.5, transform_ms: 3.5, total_ms: 8 + seq,
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

  const write = (volumeId: string, rows: VolumeRecord[], rowGroupSize = 7) =>
    lastValueFrom(from(rows).pipe(writeParquet(new S3ParquetWriter(output, staging, { volumeId, rowGroupSize }), () => info)));

  it('publishes a Parquet table DuckDB reads back with the right types and values, marker last', async () => {
    const rows = Array.from({ length: 20 }, (_, i) => record('vol-a', i));
    const afterRow: number[] = [];
    const writer = new S3ParquetWriter(output, staging, { volumeId: 'vol-a', rowGroupSize: 7 });
    const result = await lastValueFrom(from(rows).pipe(writeParquet(writer, () => info, { afterRow: (r) => afterRow.push(r.seq) })));

    expect(afterRow).toEqual(rows.map((r) => r.seq));
    expect(result.marker).toMatchObject({
      volumeId: 'vol-a', rows: 20, okRows: 10, errorRows: 10, inputs: 20,
      inputManifestSha256: manifestSha256(rows), model: info.model, configSha256: 'c1',
      parquet: { key: 'vol-a/part-00000.parquet' }, startedAt: info.startedAt, libraryVersion: '0.1.0',
    });
    expect(await listAll(output)).toEqual(['vol-a/_SUCCESS.json', 'vol-a/part-00000.parquet']);

    const bytes = (await output.get('vol-a/part-00000.parquet')).bytes;
    expect(result.marker.parquet.bytes).toBe(bytes.length);
    const table = await readParquet(bytes);
    expect(table.types).toMatchObject({
      volume_id: 'VARCHAR', seq: 'BIGINT', key: 'VARCHAR', etag: 'VARCHAR', status: 'VARCHAR', error: 'VARCHAR',
      width: 'INTEGER', height: 'INTEGER', orientation_deg: 'INTEGER', skew_deg: 'DOUBLE', confidence: 'DOUBLE',
      transform: 'VARCHAR', rejected_transform: 'VARCHAR', residual_skew_deg: 'DOUBLE', curvature_px: 'DOUBLE',
      residual_curvature_px: 'DOUBLE', text_lines: 'INTEGER', text_coverage: 'DOUBLE', passes: 'INTEGER',
      fetch_ms: 'DOUBLE', decode_ms: 'DOUBLE', infer_ms: 'DOUBLE', transform_ms: 'DOUBLE', total_ms: 'DOUBLE',
    });
    expect(Object.keys(table.types).sort()).toEqual(Object.keys(rows[0]).sort());
    expect(table.rows).toEqual(rows.map((r) => ({ ...r, seq: BigInt(r.seq) })));
  });

  it('detects an identical rerun and replaces the table when the input changed', async () => {
    const rows = Array.from({ length: 5 }, (_, i) => record('vol-b', i));
    const first = await write('vol-b', rows);
    const expect1 = { inputManifestSha256: manifestSha256(rows), model: info.model, configSha256: info.configSha256 };
    expect(await isPublished(output, 'vol-b', expect1)).toEqual(first.marker);
    expect(await isPublished(output, 'vol-b', { ...expect1, configSha256: 'other' })).toBeUndefined();

    const changed = rows.map((r, i) => (i === 2 ? record('vol-b', i, '"changed"') : r)).concat(record('vol-b', 5));
    const changedManifest = { ...expect1, inputManifestSha256: manifestSha256(changed) };
    expect(await isPublished(output, 'vol-b', changedManifest)).toBeUndefined();

    const second = await write('vol-b', changed);
    expect(second.marker.rows).toBe(6);
    expect(await isPublished(output, 'vol-b', changedManifest)).toEqual(second.marker);
    expect(await S3ParquetWriter.readMarker(output, 'vol-b')).toEqual(second.marker);
    const table = await readParquet((await output.get('vol-b/part-00000.parquet')).bytes);
    expect(table.rows.map((r) => r.etag)).toEqual(changed.map((r) => r.etag));
    expect((await listAll(staging)).filter((k) => k.startsWith('vol-b/'))).toEqual([]);
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

  it('publishes an empty volume as a valid table with no rows', async () => {
    const result = await write('vol-none', []);
    expect(result.marker).toMatchObject({ rows: 0, okRows: 0, errorRows: 0, inputs: 0, inputManifestSha256: manifestSha256([]) });
    const table = await readParquet((await output.get('vol-none/part-00000.parquet')).bytes);
    expect(table.rows).toEqual([]);
    expect(table.types.seq).toBe('BIGINT');
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
    expect(await keysUnder(dir)).toEqual(['vol-l/_SUCCESS.json', 'vol-l/part-00000.parquet']);
    const table = await readParquet(join(dir, 'vol-l/part-00000.parquet'));
    expect(table.rows).toEqual(rows.map((r) => ({ ...r, seq: BigInt(r.seq) })));
    const expected = { inputManifestSha256: manifestSha256(rows), model: info.model, configSha256: info.configSha256 };
    expect(await isPublished(output, 'vol-l', expected)).toEqual(result.marker);
  });

  it('cleans up staging when aborted', async () => {
    const output = openLocation(join(dir, 'b'));
    const writer = new S3ParquetWriter(output, output.child('_staging'), { volumeId: 'vol-m', rowGroupSize: 1 });
    await writer.append(record('vol-m', 0));
    expect((await keysUnder(join(dir, 'b'))).length).toBe(1);
    await writer.abort();
    expect(await keysUnder(join(dir, 'b'))).toEqual([]);
  });
});
