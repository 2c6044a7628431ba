import Piscina from 'piscina';
import { Observable, OperatorFunction, catchError, from, map, of } from 'rxjs';
import { StageStats, TaskRunner, piscinaRunner, poolCapacity, poolMap } from '../../operators';
import type { EngineConfig } from '../config';
import type { PatchLayout } from '../decode/tile';
import { buffersOf } from '../infer/transfer';
import type { DecodedPage, PlannedPage, UncorrectedPage } from '../page';
import type { DecodedFrame, PageSummary, TextLine, TransformPlan } from '../types';
import { closePool, startPool } from '../workerFile';
import type { FullResolutionImage, FullResolutionTask } from '../correct/pageImage';

/** A transform thread's task (src/threads/transform.ts): a frame and the correction to apply. */
export interface TransformTask {
  /** Interleaved RGB, width × height × 3 bytes (transferred). */
  pixels: Uint8Array;
  width: number;
  height: number;
  /** The source image's size, carried into the new frame. */
  sourceWidth: number;
  sourceHeight: number;
  plan: TransformPlan;
  /** The detected text lines, in this frame's coordinates. */
  lines: TextLine[];
  layout: PatchLayout;
  /** The new frame's longest side at most (the analysis scale). */
  maxSide: number;
}

/** The summary's text lines in the coordinates of `frame` (the summary may be measured at another size). */
function linesInFrame(summary: PageSummary, frame: DecodedFrame): TextLine[] {
  const sx = frame.width / summary.width;
  const sy = frame.height / summary.height;
  if (sx === 1 && sy === 1) return summary.lines;
  return summary.lines.map((line) => ({ ...line, points: line.points.map(([x, y]): [number, number] => [x * sx, y * sy]), height: line.height * sy }));
}

/** A planned page after its correction: decoded again, with the new frame, for its next pass. */
export function correctedPage(page: PlannedPage, frame: DecodedFrame, transformMs: number): DecodedPage {
  const { plan, summary, state: _planned, frame: _before, ...rest } = page;
  return { ...rest, state: 'decoded', pass: page.pass + 1, timings: { ...page.timings, transformMs: page.timings.transformMs + transformMs }, frame, correction: { plan, first: summary } };
}

/** An error's message; errors from worker threads may come from another realm, so no `instanceof`. */
function messageOf(err: unknown): string {
  const message = (err as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(err);
}

/**
 * Applies each planned page's correction on a pool of `cfg.transformWorkers` OpenCV threads: the
 * page comes back decoded again, with a new frame (rotated, dewarped, re-tiled, at analysis
 * scale), its `correction` (the plan and the first pass's summary), `pass` + 1 and the time spent
 * added to `timings.transformMs`, ready for the model's next pass. A page the worker fails on
 * comes back `uncorrected`, with the reason. Results come in completion order.
 */
export class Transformer {
  private readonly pool: Piscina;
  private readonly run: TaskRunner<TransformTask, DecodedFrame>;
  /** The full-resolution corrected page images (`fullResolutionImage`), on the same threads. */
  readonly fullResolution: TaskRunner<FullResolutionTask, FullResolutionImage>;

  constructor(private readonly cfg: EngineConfig, private readonly layout: PatchLayout) {
    this.pool = startPool('transform', { minThreads: cfg.transformWorkers, maxThreads: cfg.transformWorkers, idleTimeout: Infinity });
    // A page being corrected for its second pass goes before the page images: the model waits for it.
    this.run = piscinaRunner(this.pool, { name: 'transform', transfer: (task) => buffersOf(task.pixels), priority: 1 });
    this.fullResolution = piscinaRunner(this.pool, { name: 'fullResolutionImage', transfer: (task) => buffersOf(task.original) });
  }

  /** The operator: planned pages in, corrected (or uncorrectable) pages out (see the class doc). */
  apply(stats?: StageStats): OperatorFunction<PlannedPage, DecodedPage | UncorrectedPage> {
    return poolMap((page: PlannedPage) => this.transformPage(page), { concurrency: poolCapacity(this.pool), stats });
  }

  /** Stops the threads once their running tasks are done. */
  close(): Promise<void> {
    return closePool(this.pool);
  }

  private transformPage(page: PlannedPage): Observable<DecodedPage | UncorrectedPage> {
    const { plan, frame, summary } = page;
    const task: TransformTask = {
      pixels: frame.pixels,
      width: frame.width,
      height: frame.height,
      sourceWidth: frame.sourceWidth,
      sourceHeight: frame.sourceHeight,
      plan,
      lines: linesInFrame(summary, frame),
      layout: this.layout,
      maxSide: this.cfg.analysisMaxSide,
    };
    const started = performance.now();
    return from(this.run(task)).pipe(
      map((frame) => correctedPage(page, frame, performance.now() - started)),
      catchError((err: unknown) => of<UncorrectedPage>({ ...page, state: 'uncorrected', reason: `transform: ${messageOf(err)}` })),
    );
  }
}
