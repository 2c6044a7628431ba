import { randomBytes } from 'node:crypto';
import { WriteConflictError, type Location, type StagedWrite } from '../store';
import { manifestSha256 } from '../store/manifest';
import { attemptOfKey, attemptStartMs, isPublished, keysUnder, outputKeys, readMarker, type Marker, type MarkerIdentity } from '../store/marker';
import { tempOwner } from '../store/localLocation';
import { attemptOver, attemptRunning, ownToken, provablyDead } from '../store/owner';
import { GuardedSink, openRowWriter, type RowWriter } from '../store/parquetSink';
import type { VolumeRecord } from '../types';

export { isPublished, type Marker };

/** What the marker records besides the rows: filled in by the pipeline at publish time. */
export interface PublishInfo extends Omit<MarkerIdentity, 'inputManifestSha256'> {
  /** The input location's URL. */
  input: string;
  startedAt: string;
  libraryVersion: string;
}

export interface PublishResult {
  /** The volume's marker as it stands after this publish: this attempt's, or a concurrent later attempt's that superseded it. */
  marker: Marker;
  /** True when a concurrent attempt's marker replaced this one (this attempt's table was then removed). */
  superseded: boolean;
  /** The output location and the keys written under it. */
  output: string;
  parquetKey: string;
  markerKey: string;
}

export interface ParquetWriterOptions {
  volumeId: string;
  rowGroupSize: number;
  /** Names this attempt's staging folder and table file; random when omitted. Unique per attempt. */
  attemptId?: string;
  /** Publish a table of no rows (default: refuse, see `EmptyVolumeError`). */
  allowEmpty?: boolean;
  /**
   * The attempt publishes page images (their format, for the marker): every ok row names one under
   * `imagePrefix` (written there by the pipeline before the row), and the marker names the set.
   */
  images?: { format: string };
}

/** A volume with no pages is refused unless asked for: a mistyped or emptied input would replace a good table. */
export class EmptyVolumeError extends Error {
  override readonly name = 'EmptyVolumeError';
  constructor(readonly volumeId: string, readonly input: string) {
    super(`volume ${volumeId} has no page images in ${input}; nothing was published (allow an empty volume with --allow-empty / allowEmpty)`);
  }
}

/** Pages that failed only because the store could not be reached: the volume is not published. */
export class TransientErrorsError extends Error {
  override readonly name = 'TransientErrorsError';
  constructor(readonly volumeId: string, readonly pages: number, example: string) {
    super(`${pages} page(s) of ${volumeId} could not be fetched after all retries (e.g. ${example}); nothing was published, run it again once the store is reachable`);
  }
}

/**
 * Writes a volume's rows as one Parquet file and publishes it atomically, safe against concurrent
 * attempts at the same volume.
 *
 * Rows stream (parquetjs-lite behind a `GuardedSink`, one row group of `rowGroupSize` rows in
 * memory at a time) into `staging/<volumeId>/<attemptId>/part-00000.parquet` (a multipart upload
 * on S3, a file locally), after an empty `owner.<token>` beside it names the process (`OwnerToken`).
 * `publish` then:
 * 1. refuses when rows failed with `error_kind` `transient` (`TransientErrorsError`);
 * 2. copies the file server-side to this attempt's own `output/<volumeId>/part-00000-<attemptId>.parquet`
 *    (a rename locally);
 * 3. writes `_SUCCESS.json` naming that file with its size and ETag — conditionally on the marker
 *    it read (If-Match its ETag, or If-None-Match when there was none) where the store enforces it;
 *    a lost condition re-reads the marker and writes again;
 * 4. removes the table of the marker it replaced, and its own table when a concurrent attempt's
 *    marker has replaced its own since; then its staging object.
 * 5. removes what killed attempts at the volume left (`removeDeadAttempts`).
 * A marker only ever names a table that was complete before it was written, and a table is only
 * deleted by its own attempt (never marked, or no longer marked) or by the attempt whose marker
 * replaced the one that named it. A reader finds the table through the marker.
 * On failure or `abort` the upload is aborted, and this attempt's staging object and unmarked
 * table deleted; nothing else is touched.
 *
 * Calls are serialised: `append` and `publish` run one after the other in call order.
 */
export class S3ParquetWriter {
  readonly attemptId: string;
  private readonly stagingKey: string;
  private readonly ownerKey: string;
  private ownerWritten = false;
  private readonly keys: { parquet: string; marker: string; pages: string };
  private readonly stop = new AbortController();
  /** The tail of the serial chain of appends and publish. */
  private work: Promise<unknown> = Promise.resolve();
  private staged?: StagedWrite;
  private sink?: GuardedSink;
  private rows?: RowWriter;
  private stagedDone = false;
  private adopted = false;
  private published = false;
  private cleanup?: Promise<void>;
  private readonly counts = { rows: 0, ok: 0, error: 0, transient: 0, images: 0, rotate: 0, tps: 0, rejected: 0 };
  private firstTransient = '';
  private readonly manifest = new Map<string, string>();

  constructor(private readonly output: Location, private readonly staging: Location, private readonly opts: ParquetWriterOptions) {
    this.attemptId = opts.attemptId ?? `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
    this.stagingKey = `${opts.volumeId}/${this.attemptId}/part-00000.parquet`;
    this.ownerKey = `${opts.volumeId}/${this.attemptId}/owner.${ownToken()}`;
    this.keys = outputKeys(opts.volumeId, this.attemptId);
  }

  /** Where this attempt's page images go (`<volumeId>/pages/<attemptId>/` under the output). */
  get imagePrefix(): string {
    return this.keys.pages;
  }

  /** The volume's marker, if published. */
  static readMarker(output: Location, volumeId: string): Promise<Marker | undefined> {
    return readMarker(output, volumeId);
  }

  /** Appends one row (rows of another volume are refused). */
  append(rec: VolumeRecord): Promise<void> {
    return this.serial(async () => {
      if (rec.volume_id !== this.opts.volumeId) throw new Error(`row of volume ${rec.volume_id} given to the writer of ${this.opts.volumeId}`);
      if (this.opts.images && (rec.status === 'ok') !== (rec.image_key?.startsWith(this.keys.pages) === true)) {
        throw new Error(`row ${rec.key} (${rec.status}) has image_key ${rec.image_key}: with images every ok row, and no error row, names an image under ${this.keys.pages}`);
      }
      const rows = await this.open();
      await this.parquetCall(() => rows.appendRow(rec));
      this.counts.rows++;
      if (rec.status === 'ok') this.counts.ok++;
      else this.counts.error++;
      if (rec.image_key) this.counts.images++;
      if (rec.transform === 'rotate') this.counts.rotate++;
      if (rec.transform === 'tps') this.counts.tps++;
      if (rec.rejected_transform) this.counts.rejected++;
      if (rec.error_kind === 'transient' && this.counts.transient++ === 0) this.firstTransient = rec.error ?? rec.key;
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
        // The publish's own error is the one to report; a cleanup that fails too (the store is down) only warns.
        await this.removeLeftovers().catch((cleanupErr: Error) => console.warn(`rxvolume: could not remove the leftovers of ${this.opts.volumeId}'s attempt ${this.attemptId}: ${cleanupErr.message}`));
        throw err;
      }
    });
  }

  /** Stops the attempt: aborts requests and the upload, deletes its staging object and table; no marker is written. No-op once published. */
  async abort(): Promise<void> {
    if (this.published) return;
    this.stop.abort();
    await this.work;
    await this.removeLeftovers();
  }

  private async publishNow(info: PublishInfo): Promise<PublishResult> {
    const signal = this.stop.signal;
    if (this.counts.transient > 0) throw new TransientErrorsError(this.opts.volumeId, this.counts.transient, this.firstTransient);
    if (this.counts.rows === 0 && !this.opts.allowEmpty) throw new EmptyVolumeError(this.opts.volumeId, info.input);
    const rows = await this.open();
    await this.parquetCall(() => rows.close());
    await (this.staged as StagedWrite).finish();
    this.stagedDone = true;
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
      modelFiles: info.modelFiles,
      configSha256: info.configSha256,
      analysisVersion: info.analysisVersion,
      parquet: { key: this.keys.parquet, bytes: file.bytes, etag: file.etag },
      ...(this.opts.images ? { images: { prefix: this.keys.pages, count: this.counts.images, format: this.opts.images.format } } : {}),
      corrections: { rotate: this.counts.rotate, tps: this.counts.tps, rejected: this.counts.rejected },
      input: info.input,
      attemptId: this.attemptId,
      startedAt: info.startedAt,
      finishedAt: new Date().toISOString(),
      libraryVersion: info.libraryVersion,
    };
    const replaced = await this.writeMarker(`${JSON.stringify(marker, null, 2)}\n`).catch(async (err: unknown) => {
      // A write whose answer was lost may still have landed: then it is published.
      if ((await this.currentMarker())?.attemptId === this.attemptId) return undefined;
      throw err;
    });
    this.published = true;
    const now = await this.currentMarker();
    const superseded = now?.parquet.key !== this.keys.parquet;
    if (replaced !== undefined && replaced !== this.attemptId) await this.retire(replaced);
    if (superseded) await this.retire(this.attemptId);
    else await this.removeEarlierAttempts(now as Marker);
    await this.staging.delete(this.stagingKey).catch(() => undefined);
    await this.staging.delete(this.ownerKey).catch(() => undefined);
    attemptRunning(this.attemptId, false);
    await removeDeadAttempts(this.output, this.staging, this.opts.volumeId, signal);
    return { marker: superseded && now ? now : marker, superseded, output: this.output.url, parquetKey: this.keys.parquet, markerKey: this.keys.marker };
  }

  /**
   * Writes the marker on the condition that it still is the one read just before (see the class
   * comment); returns the attempt id of the replaced marker, if any. A marker of an attempt that
   * started later than this one is not replaced (its attempt may have removed this one's output as
   * stale): nothing is written and the attempt's own id is returned.
   */
  private async writeMarker(text: string): Promise<string | undefined> {
    const signal = this.stop.signal;
    const ownStart = attemptStartMs(this.attemptId);
    for (let tries = 1; ; tries++) {
      const previous = await this.output.readText(this.keys.marker, { signal });
      const previousAttempt = previous ? attemptIdOf(previous.text) : undefined;
      const previousStart = previousAttempt === undefined ? undefined : attemptStartMs(previousAttempt);
      if (ownStart !== undefined && previousStart !== undefined && previousStart > ownStart) return this.attemptId;
      try {
        await this.output.putText(this.keys.marker, text, previous ? { ifMatch: previous.etag, signal } : { ifNoneMatch: true, signal });
        return previousAttempt;
      } catch (err) {
        if (!(err instanceof WriteConflictError) || tries >= 10) throw err;
      }
    }
  }

  /** The marker now in place, or undefined when there is none or it cannot be read as one. */
  private currentMarker(): Promise<Marker | undefined> {
    return readMarker(this.output, this.opts.volumeId, this.stop.signal).catch(() => undefined);
  }

  /** Deletes the table and the page images of an attempt of this volume that no marker names any more. */
  private async retire(attemptId: string): Promise<void> {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(attemptId)) return; // not an id this code makes keys of
    const keys = outputKeys(this.opts.volumeId, attemptId);
    await this.output.delete(keys.parquet).catch((err: Error) => console.warn(`rxvolume: could not remove the superseded table ${keys.parquet}: ${err.message}`));
    await this.removeImages(attemptId).catch((err: Error) => console.warn(`rxvolume: could not remove the superseded images ${keys.pages}: ${err.message}`));
  }

  /** Deletes the page images of an attempt (everything under its `pages/<attemptId>/`). */
  private async removeImages(attemptId: string): Promise<void> {
    const { pages } = outputKeys(this.opts.volumeId, attemptId);
    for (const key of await keysUnder(this.output, pages)) await this.output.delete(key);
  }

  /**
   * After publishing: deletes what attempts that started before this one left behind (a table or
   * page images no marker names: an attempt killed before its marker, or one whose cleanup failed).
   * Only earlier attempts: a later one may still be writing; an earlier one that still runs cannot
   * publish over this marker any more (see `writeMarker`). Attempts with ids given by the caller
   * carry no start time and are left alone.
   */
  private async removeEarlierAttempts(marker: Marker): Promise<void> {
    const ownStart = attemptStartMs(this.attemptId);
    if (ownStart === undefined) return;
    const volume = `${this.opts.volumeId}/`;
    try {
      for (const key of await keysUnder(this.output, volume)) {
        const attempt = attemptOfKey(this.opts.volumeId, key);
        const started = attempt === undefined ? undefined : attemptStartMs(attempt);
        if (attempt === marker.attemptId || started === undefined || started >= ownStart) continue;
        await this.output.delete(key);
      }
    } catch (err) {
      console.warn(`rxvolume: could not remove the leftovers of earlier attempts at ${this.opts.volumeId}: ${(err as Error).message}`);
    }
  }

  /** Opens the staging write and the Parquet writer on first use. */
  private async open(): Promise<RowWriter> {
    if (this.rows) return this.rows;
    this.ownerWritten = true;
    attemptRunning(this.attemptId, true);
    await this.staging.putText(this.ownerKey, '', { signal: this.stop.signal });
    this.staged = await this.staging.write(this.stagingKey, { signal: this.stop.signal });
    const sink = (this.sink = new GuardedSink(this.staged.stream));
    this.rows = await this.parquetCall(() => openRowWriter(sink, this.opts.rowGroupSize));
    return this.rows;
  }

  /**
   * Runs a parquetjs-lite call, turning the strings it throws into Errors. An abort or a failed
   * staging stream rejects at once: a write held back by a full stream may never call back once the
   * stream is destroyed.
   */
  private async parquetCall<T>(fn: () => Promise<T>): Promise<T> {
    const signal = this.stop.signal;
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(new Error('aborted'));
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      const work = Promise.race([fn(), aborted]);
      return await (this.sink ? this.sink.guard(work) : work);
    } catch (err) {
      throw err instanceof Error ? err : new Error(`parquet: ${String(err)}`);
    } finally {
      signal.removeEventListener('abort', onAbort as () => void);
    }
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

  /** Once: removes this attempt's upload/staging object and, if its marker never came, its table. */
  private removeLeftovers(): Promise<void> {
    this.cleanup ??= (async () => {
      try {
        if (this.staged && !this.stagedDone) await this.staged.abort();
        else if (this.stagedDone) await this.staging.delete(this.stagingKey);
        if (this.ownerWritten) await this.staging.delete(this.ownerKey);
        if (this.adopted && !this.published) await this.output.delete(this.keys.parquet);
        if (this.opts.images && !this.published) await this.removeImages(this.attemptId);
      } finally {
        attemptRunning(this.attemptId, false); // what a failed cleanup left, a later attempt removes
      }
    })();
    return this.cleanup;
  }
}

/**
 * Deletes what killed attempts at a volume left: their staging folders (`<volumeId>/<attemptId>/`
 * of `staging`, told by the `owner.<token>` each attempt stages first) and the temporary files of
 * writes cut short (`tempOwner`: a folder's marker or page image written beside its place, under
 * `<volumeId>/` of the output, or an owner file in staging). Only those of a provably dead process
 * (`provablyDead`: it ran on this machine, in this container, and its pid is gone), and attempts of
 * this process that ended without cleaning up (`attemptOver`): an attempt that still runs, or that
 * ran elsewhere, keeps its files. Staging folders without an owner file (made
 * by older versions) are left alone. Failures only warn.
 */
export async function removeDeadAttempts(output: Location, staging: Location, volumeId: string, signal?: AbortSignal): Promise<void> {
  const deadTemp = (key: string) => {
    const token = tempOwner(key);
    return token !== undefined && provablyDead(token);
  };
  try {
    const staged = await keysUnder(staging, `${volumeId}/`, signal);
    const attemptOf = (key: string) => key.split('/')[1];
    const owners = staged.filter((key) => /^[^/]+\/[^/]+\/owner\.[^/.]+$/.test(key));
    const dead = new Set(owners.filter((key) => attemptOver(key.slice(key.lastIndexOf('owner.') + 'owner.'.length), attemptOf(key))).map(attemptOf));
    // Owner files last: a sweep cut short still proves the attempt dead next time.
    for (const key of staged) if ((dead.has(attemptOf(key)) && !owners.includes(key)) || deadTemp(key)) await staging.delete(key, { signal });
    for (const key of owners) if (dead.has(attemptOf(key))) await staging.delete(key, { signal });
    if (output.kind === 'local') for (const key of await keysUnder(output, `${volumeId}/`, signal)) if (deadTemp(key)) await output.delete(key, { signal });
  } catch (err) {
    console.warn(`rxvolume: could not remove the leftovers of killed attempts at ${volumeId}: ${(err as Error).message}`);
  }
}

/** The attempt id a marker's text names, if it parses as one. */
function attemptIdOf(text: string): string | undefined {
  try {
    const id = (JSON.parse(text) as Partial<Marker>).attemptId;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}
