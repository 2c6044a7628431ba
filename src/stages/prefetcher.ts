import { Observable, type OperatorFunction } from 'rxjs';
import { acquireCredit, poolMap, type Credits, type StageStats } from '../../operators';
import type { PipelineConfig } from '../config';
import { describeError, isRetryable } from '../s3/retry';
import type { Location } from '../store';
import { manifestSha256 } from '../store/manifest';
import { failed, type FailedPage, type FetchedPage, type ListedPage } from '../page';
import type { ImageTask } from '../types';

export { manifestSha256 };

/**
 * The volume's input side: lists the images lazily and fetches their bytes.
 *
 * Keys in tasks are relative to the input location. Only keys whose extension is in
 * `cfg.imageExtensions` (case-insensitive) are tasks; `seq` is their listing order.
 */
export class Prefetcher {
  private readonly extensions: Set<string>;

  constructor(readonly location: Location, readonly cfg: PipelineConfig, readonly volumeId: string) {
    this.extensions = new Set(cfg.imageExtensions.map((e) => e.toLowerCase()));
  }

  /**
   * The images, listed one page at a time: the next page is requested only when the consumer pulls
   * past this one. An image (or folder) the listing could not read is a task with its `error`.
   */
  async *tasks(signal?: AbortSignal): AsyncGenerator<ImageTask> {
    let seq = 0;
    for await (const page of this.location.list({ pageSize: this.cfg.listPageSize, signal })) {
      for (const entry of page) {
        const listedWithError = entry.error !== undefined && (entry.key.endsWith('/') || this.isImage(entry.key));
        if (this.isImage(entry.key) || listedWithError) {
          yield { volumeId: this.volumeId, key: entry.key, etag: entry.etag, size: entry.size, seq: seq++, ...(entry.error !== undefined ? { error: entry.error } : {}) };
        }
      }
    }
  }

  /** Lists everything and hashes it with `manifestSha256` (for the idempotency check before a run). */
  async manifest(signal?: AbortSignal): Promise<{ inputs: number; sha256: string }> {
    const entries: ImageTask[] = [];
    for await (const task of this.tasks(signal)) entries.push(task);
    return { inputs: entries.length, sha256: manifestSha256(entries) };
  }

  /**
   * Takes a `fetched` credit per page, then GETs up to `cfg.prefetchConcurrency` pages at once
   * (If-Match the listed ETag, and the returned ETag is compared too): listed pages in, fetched
   * pages out (`bytes` and `timings.fetchMs` set); a task listed with an error, a missing object,
   * a changed ETag or an error after retries fails (`failed(page, message, kind)`): kind `transient` when the store could not
   * be reached or throttled through all retries, `input` otherwise. The credit is not given back here: the decoder releases it once the
   * bytes are decoded, so fetched-but-undecoded pages never exceed `fetched.capacity`.
   * Unsubscribing aborts the GETs in flight.
   */
  fetch(fetched: Credits, stats?: StageStats): OperatorFunction<ListedPage, FetchedPage | FailedPage> {
    return (source) =>
      source.pipe(
        acquireCredit(fetched),
        poolMap((page: ListedPage) => this.fetchOne(page), { concurrency: this.cfg.prefetchConcurrency, stats }),
      );
  }

  private fetchOne(work: ListedPage): Observable<FetchedPage | FailedPage> {
    return new Observable<FetchedPage | FailedPage>((subscriber) => {
      if (work.task.error !== undefined) {
        subscriber.next(failed(work, `${work.task.key}: ${work.task.error}`));
        subscriber.complete();
        return;
      }
      const abort = new AbortController();
      const started = performance.now();
      this.location.get(work.task.key, { etag: work.task.etag, signal: abort.signal }).then(
        ({ bytes }) => {
          subscriber.next({ ...work, state: 'fetched', bytes, timings: { ...work.timings, fetchMs: performance.now() - started } });
          subscriber.complete();
        },
        (err: unknown) => {
          if (abort.signal.aborted) return;
          const timings = { ...work.timings, fetchMs: performance.now() - started };
          subscriber.next(failed({ ...work, timings }, `fetch ${work.task.key}: ${describeError(err)}`, isRetryable(err) ? 'transient' : 'input'));
          subscriber.complete();
        },
      );
      return () => abort.abort();
    });
  }

  private isImage(key: string): boolean {
    const dot = key.lastIndexOf('.');
    return dot > key.lastIndexOf('/') && this.extensions.has(key.slice(dot).toLowerCase());
  }
}
