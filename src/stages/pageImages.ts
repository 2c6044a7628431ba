import { Observable, type OperatorFunction, catchError, from, map, mergeMap, of, throwError } from 'rxjs';
import { acquireCredit, bypass, poolMap, releaseCredit, type Credits, type StageStats, type TaskRunner } from '../../operators';
import { contentTypeOf, formatOfKey, imageName, type FullResolutionImage, type FullResolutionTask, type ImageFormat, type ImagesSetting } from '../correct/pageImage';
import { describeError, isRetryable } from '../s3/retry';
import { EtagMismatchError, NotFoundError, type Location } from '../store';
import type { VolumeRecord } from '../types';
import type { PageResult } from './transformController';

export interface PageImagesOptions {
  /** Where the originals are read from again. */
  input: Location;
  /** Where the images are written, under `prefix` (this attempt's `<volumeId>/pages/<attemptId>/`). */
  output: Location;
  prefix: string;
  format: Exclude<ImagesSetting, 'off'>;
  quality: number;
  /** Pages being corrected at full resolution at once (`fullResPages`). */
  credits: Credits;
  /** Runs a `FullResolutionTask` off the main thread (the Transformer's `fullResolution`). */
  correct: TaskRunner<FullResolutionTask, FullResolutionImage>;
  stats?: StageStats;
}

/** The bytes as a buffer of their own (a transfer moves the whole ArrayBuffer). */
function owned(bytes: Uint8Array): Uint8Array {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return bytes;
  return new Uint8Array(bytes);
}

/** An error of the page's original (gone or changed since it was analysed, unreadable): the row becomes an error row. */
class PageImageError extends Error {
  constructor(message: string, readonly kind: 'input' | 'transient') {
    super(message);
  }
}

/** The row of a page whose image could not be made: an error row (no correction, no image). */
function imageFailed(record: VolumeRecord, err: PageImageError): VolumeRecord {
  return {
    ...record,
    status: 'error',
    error: `image: ${err.message}`,
    error_kind: err.kind,
    applied_rotation_deg: null,
    image_width: null,
    image_height: null,
    dewarp_points: null,
    image_key: null,
  };
}

/** A failure of reading the original (input side) as a PageImageError; anything else (the output side) is passed on. */
function inputSide(key: string, err: unknown): never {
  if (err instanceof NotFoundError || err instanceof EtagMismatchError) throw new PageImageError(`${key}: ${err.message}`, 'input');
  if (isRetryable(err)) throw new PageImageError(`${key}: ${describeError(err)}`, 'transient');
  throw err;
}

/**
 * Publishes each ok page's corrected full-resolution image under `prefix` and sets its row's
 * `image_key`; error rows pass through (no image).
 *
 * ```
 * pages:  -ok1-err2-ok3----------|
 * result: ------err2----ok1'-ok3'|      (ok' = with image_key; completion order)
 * ```
 *
 * At most `credits.capacity` pages are inside at once. A page with no correction (0°, no dewarp)
 * whose format stays is copied as it is (a server-side copy on S3, If-Match its listed ETag); any
 * other is fetched again (If-Match its ETag), corrected and encoded by `correct` on a transform
 * thread, and written whole. A page whose original is gone, changed or unreadable becomes an error
 * row (`image: …`; `transient` when the store could not be reached through the retries); a failed
 * write errors the stream (the volume is not published).
 */
export function pageImages(opts: PageImagesOptions): OperatorFunction<PageResult, PageResult> {
  const isErrorRow = (page: PageResult): page is PageResult => page.record.status !== 'ok';
  return bypass(isErrorRow, (ok: Observable<PageResult>) =>
    ok.pipe(
      acquireCredit(opts.credits),
      poolMap((page: PageResult) => publishImage(page, opts), { concurrency: opts.credits.capacity, stats: opts.stats }),
      releaseCredit(opts.credits),
    ),
  );
}

/** The promise `run` makes as an Observable; unsubscribing aborts its signal. */
function abortable<T>(run: (signal: AbortSignal) => Promise<T>): Observable<T> {
  return new Observable<T>((subscriber) => {
    const abort = new AbortController();
    run(abort.signal).then(
      (value) => {
        subscriber.next(value);
        subscriber.complete();
      },
      (err: unknown) => {
        if (!abort.signal.aborted) subscriber.error(err);
      },
    );
    return () => abort.abort();
  });
}

function publishImage(page: PageResult, opts: PageImagesOptions): Observable<PageResult> {
  const { record } = page;
  const { input, output } = opts;
  const key = `${opts.prefix}${imageName(record.key, record.seq, opts.format)}`;
  const sourceFormat = formatOfKey(record.key);
  const unchanged = record.applied_rotation_deg === 0 && record.dewarp_points === null && (opts.format === 'same' || opts.format === sourceFormat);
  const put = (bytes: Uint8Array, format: ImageFormat | undefined) => abortable((signal) => output.putBytes(key, bytes, { contentType: format && contentTypeOf(format), signal }));
  const written: Observable<unknown> =
    unchanged && input.kind === output.kind
      ? abortable((signal) => output.copy(input, record.key, key, { etag: record.etag, signal }).catch((err: unknown) => inputSide(record.key, err)))
      : abortable((signal) => input.get(record.key, { etag: record.etag, signal }).catch((err: unknown) => inputSide(record.key, err))).pipe(
          mergeMap(({ bytes }) => {
            if (unchanged) return put(bytes, sourceFormat);
            const task: FullResolutionTask = { original: owned(bytes), row: record, format: opts.format, quality: opts.quality };
            return from(opts.correct(task)).pipe(
              catchError((err: unknown) => throwError(() => new PageImageError(`${record.key}: ${(err as { message?: string })?.message ?? String(err)}`, 'input'))),
              mergeMap((image) => put(image.bytes, image.format)),
            );
          }),
        );
  return written.pipe(
    map((): PageResult => ({ ...page, record: { ...record, image_key: key } })),
    catchError((err: unknown) => (err instanceof PageImageError ? of({ ...page, record: imageFailed(record, err) }) : throwError(() => err))),
  );
}
