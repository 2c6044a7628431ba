import { join } from 'node:path';
import { Observable, ReplaySubject, Subject, Subscription, concat, defer, from, identity as unchanged, interval, lastValueFrom, map, mergeMap, of, switchMap, take, takeUntil, tap, throwError, finalize } from 'rxjs';
import { Credits } from '../operators';
import { contentDifferences, type PipelineConfig } from './config';
import { VolumeEngine, contentConfigSha256 } from './engine';
import { fileSha256, type ModelAdapter } from './model/adapter';
import type { S3Context } from './s3/context';
import type { PageResult } from './stages/transformController';
import { pageImages } from './stages/pageImages';
import { S3ParquetWriter, isPublished, removeDeadAttempts, EmptyVolumeError, TransientErrorsError, type Marker } from './stages/parquetWriter';
import { writeParquet } from './stages/writeParquet';
import { Prefetcher } from './stages/prefetcher';
import { checkOutputOutsideInput, openLocation, openStaging, type Location } from './store';
import { ANALYSIS_VERSION, checkVolumeId, outputKeys, type MarkerIdentity } from './store/marker';
import type { ImageTask, VolumeRecord } from './types';
import { VolumeStats, volumeRecords, type VolumeStatsSnapshot } from './volumePipeline';

import { packageRoot } from './workerFile';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const { version: libraryVersion } = require(join(packageRoot, 'package.json')) as { version: string };

export interface VolumeWorkerOptions {
  /** Shared thread pools; without one the worker starts its own and closes it at the end. */
  engine?: VolumeEngine;
  /** The model, when the worker starts its own engine (default: PP-OCRv4 text detector). */
  adapter?: ModelAdapter;
  /** Skip the volume when it is already published from the same inputs, model and config (default true). */
  skipIfPublished?: boolean;
  /** Names the staging attempt (random by default). */
  attemptId?: string;
  /** How often `stats$` emits while work goes on. */
  statsIntervalMs?: number;
}

/** What a volume run did. */
export interface VolumeResult {
  volumeId: string;
  status: 'published' | 'skipped';
  pages: number;
  ok: number;
  errors: number;
  transformed: { rotate: number; tps: number };
  /** Corrections the quality gate turned down. */
  rejected: number;
  marker: Marker;
  /** Where the table and the marker are, as URLs. */
  parquet: string;
  markerUrl: string;
  /** Where the page images of the published attempt are (a prefix URL), when it has them. */
  images?: string;
  seconds: number;
  pagesPerSecond: number;
}

/** A failure of the volume's input or output location (a missing bucket or folder, no access): says which. */
export class LocationError extends Error {
  override readonly name = 'LocationError';
  constructor(readonly side: 'input' | 'output', readonly url: string, override readonly cause: Error) {
    super(`${side} ${url}: ${cause.message}`);
  }
}

/** `err` as a LocationError of `side`, unless it is already one or a verdict on the volume itself. */
function onSide(side: LocationError['side'], url: string, err: unknown): unknown {
  if (err instanceof LocationError || err instanceof TransientErrorsError || err instanceof EmptyVolumeError || !(err instanceof Error) || err.name === 'AbortError') return err;
  return new LocationError(side, url, err);
}

async function* inputSide<T>(items: AsyncIterable<T>, url: string): AsyncGenerator<T> {
  try {
    yield* items;
  } catch (err) {
    throw onSide('input', url, err);
  }
}

/**
 * Every model file the adapter reads, by role, with its sha256: the detector (`model`), the
 * direction classifier (`classifierPath`) and each summarizer option that names a file (`*Path`).
 */
export function modelFilesOf(adapter: ModelAdapter): Record<string, string> {
  const files: Record<string, string> = { model: adapter.sha256 };
  // Keyed as when it was a summarizer option, so markers written before still match.
  if (adapter.classifier) files.classifierPath = adapter.classifier.sha256;
  for (const [option, value] of Object.entries(adapter.summarizer.options)) {
    if (option.endsWith('Path') && typeof value === 'string') files[option] = fileSha256(value);
  }
  return files;
}

/** A location's URL with `key` under it. */
function urlOf(location: Location, key: string): string {
  return `${location.url.replace(/\/?$/, '/')}${key}`;
}

async function* asAsync<T>(items: Iterable<T> | AsyncIterable<T>): AsyncGenerator<T> {
  yield* items;
}

/**
 * Runs one volume: lists (or takes) its images, runs the pipeline (`volumeRecords`) and publishes
 * the table atomically with `S3ParquetWriter`. Exactly one Record per input task.
 *
 * ```ts
 * const worker = new VolumeWorker(cfg, s3, 'vol_A', tasks);
 * worker.stats$.subscribe(console.log);
 * const result = await worker.run();
 * ```
 *
 * `run$()` is the same as an Observable: unsubscribing cancels the volume (GETs aborted, pool tasks
 * cancelled, the upload aborted and staging deleted, no marker written).
 */
export class VolumeWorker {
  private readonly stats: VolumeStats;
  private readonly started = new ReplaySubject<void>(1);
  private readonly ended = new ReplaySubject<void>(1);
  private readonly opts: VolumeWorkerOptions;
  /** What a cancelled run still has to finish: its writer's cleanup, its own engine's close. */
  private readonly cleanups: Array<Promise<unknown>> = [];
  /** Records written so far (for progress displays). */
  done = 0;
  errors = 0;
  /** Pages in the volume, once known (after the listing of the idempotency check, or from a task array). */
  inputs: number | undefined;

  /** Every page as it leaves the pipeline: its Record and the summaries (text lines) behind it. */
  readonly pages$: Observable<PageResult>;
  private readonly pages = new Subject<PageResult>();

  /**
   * Per-stage snapshots (in flight, queued, processed, busy/backpressure ms, lane mix, batch fill)
   * every `statsIntervalMs` while the run goes on, and a last one when it ends.
   */
  readonly stats$: Observable<VolumeStatsSnapshot>;

  constructor(
    readonly cfg: PipelineConfig,
    readonly s3: S3Context | undefined,
    readonly volumeId: string,
    private readonly tasks?: Iterable<ImageTask> | AsyncIterable<ImageTask>,
    opts: VolumeWorkerOptions = {},
  ) {
    checkVolumeId(volumeId);
    checkOutputOutsideInput(cfg.input, cfg.output, volumeId);
    this.opts = opts;
    this.stats = new VolumeStats(cfg.batchSize);
    this.pages$ = this.pages.pipe(takeUntil(this.ended));
    // Sampled on a timer from the start of the run, plus one last snapshot at its end. Not driven by
    // the stages' `changes$`: while that is observed, every change builds a snapshot, which sorts the
    // merge's lane wait samples (13 ms at 2000 samples here), stalling the event loop on big volumes.
    this.stats$ = this.started.pipe(
      take(1),
      switchMap(() => concat(interval(opts.statsIntervalMs ?? 250).pipe(takeUntil(this.ended)), of(0))),
      map(() => this.stats.snapshot()),
    );
  }

  /** The current per-stage snapshot. */
  snapshot(): VolumeStatsSnapshot {
    return this.stats.snapshot();
  }

  /**
   * Resolves once a run that was cancelled (unsubscribed from `run$()`) has cleaned up: its staging
   * objects and unpublished output removed, and the engine it started for itself closed. After a
   * finished run it resolves at once. Wait for it before exiting a process that cancelled a run.
   */
  async whenStopped(): Promise<void> {
    await Promise.all(this.cleanups);
  }

  /**
   * The volume's result. Aborting `signal` cancels the run as unsubscribing from `run$()` does,
   * waits until the cancelled run has cleaned up (`whenStopped()`) and rejects with `signal.reason`.
   */
  run(options: { signal?: AbortSignal } = {}): Promise<VolumeResult> {
    const { signal } = options;
    if (!signal) return lastValueFrom(this.run$());
    return new Promise<VolumeResult>((resolve, reject) => {
      const cancelled = () => reject(signal.reason ?? new Error(`volume ${this.volumeId} was cancelled`));
      if (signal.aborted) return cancelled();
      let run: Subscription | undefined;
      let last: { value: VolumeResult } | undefined;
      const onAbort = () => {
        run?.unsubscribe();
        void this.whenStopped().then(cancelled, reject);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const settle = (outcome: () => void) => {
        signal.removeEventListener('abort', onAbort);
        outcome();
      };
      run = this.run$().subscribe({
        next: (value) => (last = { value }),
        error: (err: unknown) => settle(() => reject(err)),
        complete: () => settle(() => (last ? resolve(last.value) : reject(new Error(`volume ${this.volumeId} ended without a result`)))),
      });
    });
  }

  run$(): Observable<VolumeResult> {
    return defer(() => {
      const started = Date.now();
      this.started.next();
      const { engine } = this.opts;
      const run = engine ? this.runWith(engine, started) : this.withOwnEngine((own) => this.runWith(own, started));
      return run.pipe(finalize(() => this.ended.next()));
    });
  }

  /**
   * `use` on an engine of this run's own. Done: the result waits until the pools are closed (a
   * failing close fails the run). Cancelled, failed or still starting: the engine is closed in the
   * background, once it is up, and a failing close is a warning.
   */
  private withOwnEngine(use: (engine: VolumeEngine) => Observable<VolumeResult>): Observable<VolumeResult> {
    return new Observable<VolumeResult>((subscriber) => {
      const creating = VolumeEngine.create(this.cfg, this.opts.adapter);
      let closing: Promise<void> | undefined;
      const close = () => (closing ??= creating.then((engine) => engine.close(), () => undefined));
      const run = from(creating)
        .pipe(
          mergeMap(use),
          mergeMap((result) => from(close()).pipe(map(() => result))),
        )
        .subscribe(subscriber);
      return () => {
        run.unsubscribe();
        this.cleanups.push(close().catch((err: Error) => console.warn(`rxvolume: closing the volume's thread pools failed: ${err.message}`)));
      };
    });
  }

  private runWith(engine: VolumeEngine, started: number): Observable<VolumeResult> {
    const { cfg, volumeId, s3 } = this;
    if (contentConfigSha256(cfg) !== engine.configSha256) {
      const differing = contentDifferences(cfg, engine.cfg).map((key) => `${key}=${JSON.stringify(cfg[key])} (engine: ${JSON.stringify(engine.cfg[key])})`);
      return throwError(() => new Error(`volume ${volumeId} asks for other content settings than its engine runs: ${differing.join(', ')}; its table would not be what its marker says: give it the engine's or start an engine with its own`));
    }
    const input = openLocation(cfg.input, s3, { limiter: s3?.volumeLimiter(cfg.prefetchConcurrency, volumeId) });
    const output = openLocation(cfg.output, s3);
    const staging = openStaging(cfg, output, s3);
    const prefetcher = new Prefetcher(input, cfg, volumeId);
    const identity = (inputManifestSha256: string): MarkerIdentity => ({
      inputManifestSha256,
      model: { name: engine.adapter.name, sha256: engine.adapter.sha256 },
      modelFiles: modelFilesOf(engine.adapter),
      configSha256: engine.configSha256,
      analysisVersion: ANALYSIS_VERSION,
    });

    const alreadyPublished = async (): Promise<Marker | undefined> => {
      if (Array.isArray(this.tasks)) this.inputs = this.tasks.length;
      if (this.opts.skipIfPublished === false || this.tasks) return undefined;
      const manifest = await prefetcher.manifest().catch((err: unknown) => Promise.reject(onSide('input', input.url, err)));
      this.inputs = manifest.inputs;
      return isPublished(output, volumeId, identity(manifest.sha256)).catch((err: unknown) => Promise.reject(onSide('output', output.url, err)));
    };

    return from(alreadyPublished()).pipe(
      mergeMap((marker) => {
        // Skipped: what killed attempts left is swept all the same (a published run sweeps when it publishes).
        if (marker) return from(removeDeadAttempts(output, staging, volumeId)).pipe(map(() => this.result('skipped', marker, output, started)));
        const budget = new Credits(cfg.inflightPages, 'inflightPages');
        // The image settings are content settings: the engine's, as its config hash in the marker says.
        const images = engine.cfg.images === 'off' ? undefined : engine.cfg.images;
        const writer = new S3ParquetWriter(output, staging, { volumeId, rowGroupSize: cfg.rowGroupSize, attemptId: this.opts.attemptId, allowEmpty: cfg.allowEmpty, images: images && { format: images } });
        const startedAt = new Date(started).toISOString();
        const tasks = this.tasks ? asAsync(this.tasks) : inputSide(prefetcher.tasks(), input.url);
        const { inputManifestSha256: _, ...info } = identity('');
        return volumeRecords(engine, prefetcher, tasks, { budget, stats: this.stats }).pipe(
          images
            ? pageImages({
                input,
                output,
                prefix: writer.imagePrefix,
                format: images,
                quality: engine.cfg.imageQuality,
                credits: new Credits(cfg.fullResPages, 'fullResPages'),
                correct: engine.transformer.fullResolution,
                stats: this.stats.images,
              })
            : unchanged,
          tap((page) => {
            this.count(page.record);
            this.pages.next(page);
          }),
          map((page) => page.record),
          writeParquet(writer, () => ({ ...info, input: input.url, startedAt, libraryVersion }), {
            afterRow: () => budget.release(),
            writeError: (err) => onSide('output', output.url, err),
          }),
          // Cancelled or failed: the writer's cleanup, for whenStopped() to wait on (a no-op once published).
          finalize(() => this.cleanups.push(writer.abort().catch(() => undefined))),
          map((published) => this.result('published', published.marker, output, started)),
        );
      }),
    );
  }

  private count(rec: VolumeRecord): void {
    this.done++;
    if (rec.status === 'error') this.errors++;
  }

  /** The result of a published or skipped volume, its counts from the marker (a skipped rerun reports what was published). */
  private result(status: VolumeResult['status'], marker: Marker, output: Location, started: number): VolumeResult {
    const seconds = (Date.now() - started) / 1000;
    const { rotate, tps, rejected } = marker.corrections ?? { rotate: 0, tps: 0, rejected: 0 };
    return {
      volumeId: this.volumeId,
      status,
      pages: marker.rows,
      ok: marker.okRows,
      errors: marker.errorRows,
      transformed: { rotate, tps },
      rejected,
      marker,
      parquet: urlOf(output, marker.parquet.key),
      markerUrl: urlOf(output, outputKeys(this.volumeId).marker),
      ...(marker.images ? { images: urlOf(output, marker.images.prefix) } : {}),
      seconds,
      pagesPerSecond: status === 'published' && seconds > 0 ? marker.rows / seconds : 0,
    };
  }
}
