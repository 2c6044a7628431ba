import { randomBytes } from 'node:crypto';
import type { Writable } from 'node:stream';
import { Observable, type OperatorFunction } from 'rxjs';
import type { Location, StagedWrite } from '../store';
import { manifestSha256 } from '../store/manifest';
import { isPublished, outputKeys, readMarker, type Marker } from '../store/marker';
import { VOLUME_RECORD_COLUMNS } from '../store/parquetSchema';
import type { VolumeRecord } from '../types';

export { isPublished, type Marker };

/** What the marker records besides the rows: filled in by the pipeline at publish time. */
export interface PublishInfo {
  model: { name: string; sha256: string };
  configSha256: string;
  startedAt: string;
  libraryVersion: string;
}

export interface PublishResult {
  marker: Marker;
  /** The output location and the keys written under it. */
  output: string;
  parquetKey: string;
  markerKey: string;
}

export interface ParquetWriterOptions {
  volumeId: string;
  rowGroupSize: number;
  /** Names this attempt's staging folder; random when omitted. */
  attemptId?: string;
}

/** The parts of parquetjs-lite used here (it ships no types). */
interface ParquetLib {
  ParquetSchema: new (fields: object) => object;
  ParquetWriter: {
    openStream(schema: object, stream: Writable, opts: { rowGroupSize: number; useDataPageV2: boolean }): Promise<{
      appendRow(row: object): Promise<void>;
      close(): Promise<void>;
    }>;
  };
}
// eslint-disable-next-line @typescript-eslint/no-var-requires
const parquet = require('parquetjs-lite') as ParquetLib;
const schema = new parquet.ParquetSchema(VOLUME_RECORD_COLUMNS);

type RowWriter = Awaited<ReturnType<ParquetLib['ParquetWriter']['openStream']>>;

/**
 * Writes a volume's rows as one Parquet file and publishes it atomically.
 *
 * Rows stream (parquetjs-lite, one row group of `rowGroupSize` rows in memory at a time) into
 * `staging/<volumeId>/<attemptId>/part-00000.parquet` (a multipart upload on S3, a file locally).
 * `publish` then removes an older marker, copies the file server-side to
 * `output/<volumeId>/part-00000.parquet` (a rename locally), writes `_SUCCESS.json` last and deletes
 * the staging object. A reader that trusts only the marker never sees a partial table. On failure
 * or `abort` the upload is aborted, staging deleted, and no marker is written.
 *
 * Calls are serialised: `append` and `publish` run one after the other in call order.
 */
export class S3ParquetWriter {
  readonly attemptId: string;
  private readonly stagingKey: string;
  private readonly keys: { parquet: string; marker: string };
  private readonly stop = new AbortController();
  /** The tail of the serial chain of appends and publish. */
  private work: Promise<unknown> = Promise.resolve();
  private staged?: StagedWrite;
  private rows?: RowWriter;
  private stagedDone = false;
  private adopted = false;
  private published = false;
  private cleanup?: Promise<void>;
  private readonly counts = { rows: 0, ok: 0, error: 0 };
  private readonly manifest = new Map<string, string>();

  constructor(private readonly output: Location, private readonly staging: Location, private readonly opts: ParquetWriterOptions) {
    this.attemptId = opts.attemptId ?? `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
    this.stagingKey = `${opts.volumeId}/${this.attemptId}/part-00000.parquet`;
    this.keys = outputKeys(opts.volumeId);
  }

  /** The volume's marker, if published. */
  static readMarker(output: Location, volumeId: string): Promise<Marker | undefined> {
    return readMarker(output, volumeId);
  }

  /** Appends one row (rows of another volume are refused). */
  append(rec: VolumeRecord): Promise<void> {
    return this.serial(async () => {
      if (rec.volume_id !== this.opts.volumeId) throw new Error(`row of volume ${rec.volume_id} given to the writer of ${this.opts.volumeId}`);
      const rows = await this.open();
      await parquetCall(() => rows.appendRow(rec), this.stop.signal);
      this.counts.rows++;
      if (rec.status === 'ok') this.counts.ok++;
      else this.counts.error++;
      this.manifest.set(rec.key, rec.etag);
    });
  }

  /** Finishes the file and publishes it (see the class comment). On failure, cleans up and rethrows. */
  publish(info: PublishInfo): Promise<PublishResult> {
    return this.serial(async () => {
      try {
        return await this.publishNow(info);
      } catch (err) {
        this.stop.abort();
        await this.removeLeftovers();
        throw err;
      }
    });
  }

  /** Stops the attempt: aborts requests and the upload, deletes staging; no marker is written. No-op once published. */
  async abort(): Promise<void> {
    if (this.published) return;
    this.stop.abort();
    await this.work;
    await this.removeLeftovers();
  }

  private async publishNow(info: PublishInfo): Promise<PublishResult> {
    const signal = this.stop.signal;
    const rows = await this.open();
    await parquetCall(() => rows.close(), signal);
    const staged = this.staged as StagedWrite;
    await staged.finish();
    this.stagedDone = true;
    // An older marker goes first, so no reader pairs it with the new file.
    await this.output.delete(this.keys.marker, { signal });
    const file = await this.output.adopt(this.staging, this.stagingKey, this.keys.parquet, { signal });
    this.adopted = true;
    const marker: Marker = {
      volumeId: this.opts.volumeId,
      rows: this.counts.rows,
      okRows: this.counts.ok,
      errorRows: this.counts.error,
      inputs: this.manifest.size,
      inputManifestSha256: manifestSha256(Array.from(this.manifest, ([key, etag]) => ({ key, etag }))),
      model: info.model,
      configSha256: info.configSha256,
      parquet: { key: this.keys.parquet, bytes: file.bytes, etag: file.etag },
      startedAt: info.startedAt,
      finishedAt: new Date().toISOString(),
      libraryVersion: info.libraryVersion,
    };
    await this.output.putText(this.keys.marker, `${JSON.stringify(marker, null, 2)}\n`, { exclusive: true, signal });
    this.published = true;
    await this.staging.delete(this.stagingKey).catch(() => undefined);
    return { marker, output: this.output.url, parquetKey: this.keys.parquet, markerKey: this.keys.marker };
  }

  /** Opens the staging write and the Parquet writer on first use. */
  private async open(): Promise<RowWriter> {
    if (this.rows) return this.rows;
    this.staged = await this.staging.write(this.stagingKey, { signal: this.stop.signal });
    this.rows = await parquetCall(() => parquet.ParquetWriter.openStream(schema, (this.staged as StagedWrite).stream, { rowGroupSize: this.opts.rowGroupSize, useDataPageV2: false }), this.stop.signal);
    return this.rows;
  }

  /** Runs `fn` after every earlier call; refuses once aborted. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.work.then(() => {
      if (this.stop.signal.aborted) throw new Error(`writer of ${this.opts.volumeId} was aborted`);
      if (this.published) throw new Error(`writer of ${this.opts.volumeId} already published`);
      return fn();
    });
    this.work = run.catch(() => undefined);
    return run;
  }

  /** Once: removes this attempt's upload/staging object and, if the marker never came, its output file. */
  private removeLeftovers(): Promise<void> {
    this.cleanup ??= (async () => {
      if (this.staged && !this.stagedDone) await this.staged.abort();
      else if (this.stagedDone) await this.staging.delete(this.stagingKey);
      if (this.adopted && !this.published) await this.output.delete(this.keys.parquet);
    })();
    return this.cleanup;
  }
}

/**
 * Runs a parquetjs-lite call, turning the strings it throws into Errors. An abort rejects at once:
 * a write held back by a full stream may never call back once the stream is destroyed.
 */
async function parquetCall<T>(fn: () => Promise<T>, signal: AbortSignal): Promise<T> {
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new Error('aborted'));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([fn(), aborted]);
  } catch (err) {
    throw err instanceof Error ? err : new Error(`parquet: ${String(err)}`);
  } finally {
    signal.removeEventListener('abort', onAbort as () => void);
  }
}

export interface WriteParquetOptions {
  /** Called after each row is appended (the pipeline gives its budget credit back here). */
  afterRow?: (rec: VolumeRecord) => void;
}

/**
 * Appends each row to `writer` in arrival order, one at a time (rows that arrive meanwhile wait),
 * and publishes when the source completes, emitting the PublishResult. An error (from the source,
 * an append or the publish) aborts the writer before the error is passed on; unsubscribing before
 * the publish aborts it too.
 */
export function writeParquet(writer: S3ParquetWriter, info: () => PublishInfo, opts: WriteParquetOptions = {}): OperatorFunction<VolumeRecord, PublishResult> {
  return (source) =>
    new Observable<PublishResult>((subscriber) => {
      let chain: Promise<void> = Promise.resolve();
      let settled = false;
      const fail = (err: unknown) => {
        if (settled) return;
        settled = true;
        void writer.abort().catch(() => undefined).then(() => subscriber.error(err));
      };
      const then = (step: () => Promise<void>) => {
        chain = chain.then(() => (settled ? undefined : step())).catch(fail);
      };
      const upstream = source.subscribe({
        next: (rec) =>
          then(async () => {
            await writer.append(rec);
            opts.afterRow?.(rec);
          }),
        error: fail,
        complete: () =>
          then(async () => {
            const result = await writer.publish(info());
            settled = true;
            subscriber.next(result);
            subscriber.complete();
          }),
      });
      return () => {
        upstream.unsubscribe();
        if (!settled) {
          settled = true;
          void writer.abort().catch(() => undefined);
        }
      };
    });
}
