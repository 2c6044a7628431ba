import Piscina from 'piscina';
import { Observable, OperatorFunction, catchError, from, map, of } from 'rxjs';
import { StageStats, TaskRunner, piscinaRunner, poolCapacity, poolMap } from '../../operators';
import type { EngineConfig } from '../config';
import type { PatchLayout } from '../decode/tile';
import { buffersOf } from '../infer/transfer';
import { failed, type DecodedFrame, type PageSummary, type PageWork, type TextLine } from '../types';
import { closePool, startPool } from '../workerFile';
import type { TransformTask } from '../workers/transform';
import type { FullResolutionImage, FullResolutionTask } from '../correct/pageImage';

/** The summary's text lines in the coordinates of `frame` (the summary may be measured at another size). */
function linesInFrame(summary: PageSummary | undefined, frame: DecodedFrame): TextLine[] {
  if (!summary) return [];
  const sx = frame.width / summary.width;
  const sy = frame.height / summary.height;
  if (sx === 1 && sy === 1) return summary.lines;
  return summary.lines.map((line) => ({ ...line, points: line.points.map(([x, y]): [number, number] => [x * sx, y * sy]), height: line.height * sy }));
}

/** An error's message; errors from worker threads may come from another realm, so no `instanceof`. */
function messageOf(err: unknown): string {
  const message = (err as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(err);
}

/**
 * Applies each page's correction plan on a pool of `cfg.transformWorkers` OpenCV threads: the
 * page comes back with a new frame (rotated, dewarped, re-tiled, at analysis scale), `pass` + 1
 * and the time spent added to `timings.transformMs`, ready for the model's next pass. Pages with
 * an error or without a plan pass through unchanged; a page the worker fails on becomes an error
 * item. Results come in completion order.
 */
export class Transformer {
  private readonly pool: Piscina;
  private readonly run: TaskRunner<TransformTask, DecodedFrame>;
  /** The full-resolution corrected page images (`fullResolutionImage`), on the same threads. */
  readonly fullResolution: TaskRunner<FullResolutionTask, FullResolutionImage>;

  constructor(private readonly cfg: EngineConfig, private readonly layout: PatchLayout) {
    this.pool = startPool('transform', { minThreads: cfg.transformWorkers, maxThreads: cfg.transformWorkers, idleTimeout: Infinity });
    this.run = piscinaRunner(this.pool, { name: 'transform', transfer: (task) => buffersOf(task.pixels) });
    this.fullResolution = piscinaRunner(this.pool, { name: 'fullResolutionImage', transfer: (task) => buffersOf(task.original) });
  }

  /** The operator: pages in, corrected pages out (see the class doc). */
  apply(stats?: StageStats): OperatorFunction<PageWork, PageWork> {
    return poolMap((work: PageWork) => this.transformPage(work), { concurrency: poolCapacity(this.pool), stats });
  }

  /** Stops the threads once their running tasks are done. */
  close(): Promise<void> {
    return closePool(this.pool);
  }

  private transformPage(work: PageWork): Observable<PageWork> {
    const { plan, frame } = work;
    if (work.error || !plan) return of(work);
    if (!frame) return of(failed(work, 'transform: the page has a plan but no decoded frame'));
    const task: TransformTask = {
      pixels: frame.pixels,
      width: frame.width,
      height: frame.height,
      sourceWidth: frame.sourceWidth,
      sourceHeight: frame.sourceHeight,
      plan,
      lines: linesInFrame(work.summary, frame),
      layout: this.layout,
      maxSide: this.cfg.analysisMaxSide,
    };
    const started = performance.now();
    return from(this.run(task)).pipe(
      map((corrected): PageWork => ({
        ...work,
        frame: corrected,
        pass: work.pass + 1,
        timings: { ...work.timings, transformMs: work.timings.transformMs + (performance.now() - started) },
      })),
      catchError((err: unknown) => of(failed(work, `transform: ${messageOf(err)}`))),
    );
  }
}
