import Piscina from 'piscina';
import { Observable, OperatorFunction, catchError, from, map, of } from 'rxjs';
import { StageStats, bypass, piscinaRunner, poolMap, type TaskRunner } from '../../operators';
import type { EngineConfig } from '../config';
import type { PatchGrid } from '../infer/stitch';
import { buffersOf } from '../infer/transfer';
import type { ModelAdapter } from '../model/adapter';
import type { DirectionRequest } from '../model/orientation';
import { failed, isFailed, type AnalysedPage, type FailedPage, type InferredPage, type SummarisedPage } from '../page';
import type { PageSummary } from '../types';
import { closePool, startPool } from '../workerFile';

/** What each analysis thread is started with. */
export interface AnalyseWorkerData {
  adapter: ModelAdapter;
}

/** An analysis thread's task (src/threads/analyse.ts): a page's byte maps and pixels. */
export interface SummarizeTask {
  /** The frame's patch maps, patch after patch, as bytes (255·p). */
  maps: Uint8Array;
  grid: PatchGrid;
  width: number;
  height: number;
  pixels: Uint8Array;
}

export interface SummarizeResult {
  summary: PageSummary;
  /** Set by a summarizer whose adapter has a direction classifier: `summary` reads the page upright, the classifier decides 0 or 180. */
  direction?: DirectionRequest;
  pixels: Uint8Array;
  ms: number;
}

/**
 * Summarises pages the model has run on, on a pool of `cfg.analysisWorkers` analysis threads:
 * each page's patch maps are stitched into one probability map and the adapter's summarizer turns
 * it into a PageSummary (text lines, skew, orientation). With a direction classifier (the default
 * model) the page comes back `analysed`, read upright, with its line crops for the
 * DirectionClassifier; otherwise `summarised`. Its pixels are kept (the Transformer needs them),
 * its patches dropped. Failed pages pass; a page the thread fails on fails.
 */
export class Summariser {
  private readonly run: TaskRunner<SummarizeTask, SummarizeResult>;

  private constructor(private readonly cfg: EngineConfig, private readonly pool: Piscina) {
    this.run = piscinaRunner(pool, { name: 'summarize', transfer: (t) => buffersOf(t.maps, t.pixels) });
  }

  /** Starts the analysis threads and prepares the adapter's summarizer on each (closes them again if one fails). */
  static async create(cfg: EngineConfig, adapter: ModelAdapter): Promise<Summariser> {
    const workerData: AnalyseWorkerData = { adapter };
    const pool = startPool('analyse', { minThreads: cfg.analysisWorkers, maxThreads: cfg.analysisWorkers, idleTimeout: Infinity, workerData });
    const settled = await Promise.allSettled(Array.from({ length: cfg.analysisWorkers }, () => pool.run(null, { name: 'prepare' })));
    const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failure) {
      await closePool(pool);
      throw failure.reason;
    }
    return new Summariser(cfg, pool);
  }

  /** The operator: inferred pages in, analysed (or summarised) pages out, in completion order. */
  summarise(stats?: StageStats): OperatorFunction<InferredPage | FailedPage, AnalysedPage | SummarisedPage | FailedPage> {
    return bypass(isFailed, poolMap((page: InferredPage) => this.summariseOne(page), { concurrency: this.cfg.analysisWorkers, stats }));
  }

  async close(): Promise<void> {
    await closePool(this.pool);
  }

  private summariseOne(page: InferredPage): Observable<AnalysedPage | SummarisedPage | FailedPage> {
    const { frame, maps, ...rest } = page;
    const { size, stride, cols, rows, count } = frame.patches;
    const grid = { size, stride, cols, rows, count };
    const task: SummarizeTask = { maps, grid, width: frame.width, height: frame.height, pixels: frame.pixels };
    return from(this.run(task)).pipe(
      map(({ summary, direction, pixels, ms }) => {
        const read = {
          ...rest,
          // The patches have been read: only the pixels go on (to the Transformer, which re-tiles).
          frame: { ...frame, pixels, patches: { ...grid, count: 0, data: new Uint8Array(0) } },
          summary,
          timings: { ...page.timings, inferMs: page.timings.inferMs + ms },
        };
        return direction ? { ...read, state: 'analysed' as const, direction } : { ...read, state: 'summarised' as const };
      }),
      catchError((err: Error) => of(failed(page, `summarizing the page failed: ${err.message}`))),
    );
  }
}
