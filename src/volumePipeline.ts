import { Observable, defer, map } from 'rxjs';
import { Credits, StageStats, bypass, feedbackLoop, pullWithCredits, releaseCredit, type StageSnapshot } from '../operators';
import type { VolumeEngine } from './engine';
import { BatchFill } from './infer/batchFill';
import type { Prefetcher } from './stages/prefetcher';
import { isResult, type PageResult } from './stages/transformController';
import { pageWork } from './page';
import type { ImageTask } from './types';

/** One StageStats per stage of a volume pipeline, plus the batch fill. */
export class VolumeStats {
  readonly ingress = new StageStats('ingress');
  readonly prefetch = new StageStats('prefetch');
  readonly decode = new StageStats('decode');
  readonly merge = new StageStats('merge');
  readonly batch = new StageStats('batch');
  readonly infer = new StageStats('infer');
  readonly summarize = new StageStats('summarize');
  /** Direction-classifier batches running on the inference threads. */
  readonly classify = new StageStats('classify');
  readonly transform = new StageStats('transform');
  readonly loop = new StageStats('loop');
  /** The page images (`--images`), after the loop: outside `volumeRecords`, in the VolumeWorker. */
  readonly images = new StageStats('images');
  readonly fill: BatchFill;

  constructor(batchSize: number) {
    this.fill = new BatchFill(batchSize);
  }

  get stages(): StageStats[] {
    return [this.ingress, this.prefetch, this.decode, this.merge, this.batch, this.infer, this.summarize, this.classify, this.transform, this.loop, this.images];
  }

  snapshot(): VolumeStatsSnapshot {
    return { stages: this.stages.map((s) => s.snapshot()), batchFill: this.fill.ratio, batches: this.fill.batches, mixedBatches: this.fill.mixed };
  }
}

export interface VolumeStatsSnapshot {
  stages: StageSnapshot[];
  /** Patches run over batch room offered (0..1). */
  batchFill: number;
  batches: number;
  /** Batches that held patches of more than one page. */
  mixedBatches: number;
}

export interface VolumeRecordsOptions {
  /**
   * The end-to-end budget (pages in memory). Each page takes a credit when it is listed and keeps it
   * through the reprocess loop. When given, the caller releases one per Record where the Record
   * leaves (the VolumeWorker does so after the Parquet writer appended the row); when omitted, a
   * budget of the volume's `inflightPages` (the prefetcher's config) is made and a credit is given back as each result is emitted.
   */
  budget?: Credits;
  stats?: VolumeStats;
}

/**
 * The whole pipeline as one Observable: every listed task becomes exactly one PageResult (its
 * Record plus the summaries behind it).
 *
 * ```
 * tasks ─pullWithCredits(budget)─► prefetch ─► decode ─► feedbackLoop(
 *     batcher(initial 1 : reprocess 3) ─► summarise ─► classify ─► decide ─┬─► exit: PageResult
 *                                                                          └─► transform ─► re-enter (reprocess lane) )
 * ```
 *
 * Bounded sections: pages in flight ≤ budget; fetched-but-undecoded ≤ the volume's
 * `prefetchCapacity`; pages admitted to the batcher ≤ the engine's `batcherSlots`. Re-entering pages keep their budget credit,
 * so the loop cannot deadlock on itself. Completes when the last Record is out; unsubscribing stops
 * every stage (GETs aborted, pool tasks cancelled).
 */
export function volumeRecords(
  engine: VolumeEngine,
  prefetcher: Prefetcher,
  tasks: AsyncIterable<ImageTask>,
  options: VolumeRecordsOptions = {},
): Observable<PageResult> {
  const { cfg, decoder, batcher, summariser, classifier, transformer, controller } = engine;
  const stats = options.stats ?? new VolumeStats(cfg.batchSize);
  return defer(() => {
    const budget = options.budget ?? new Credits(prefetcher.cfg.inflightPages, 'inflightPages');
    const fetched = new Credits(prefetcher.cfg.prefetchCapacity, 'prefetchCapacity');
    const records = pullWithCredits(tasks, budget, stats.ingress).pipe(
      map((task) => pageWork(task)),
      prefetcher.fetch(fetched, stats.prefetch), // GET the bytes (S3 or a folder)
      decoder.decode(fetched, stats.decode), // sharp threads: frame + model patches
      feedbackLoop(
        (initial$, reprocess$) =>
          batcher.run(initial$, reprocess$, { merge: stats.merge, batch: stats.batch, infer: stats.infer, fill: stats.fill }).pipe( // the model, micro-batched across pages
            summariser.summarise(stats.summarize), // analysis threads: text lines, skew, line crops
            classifier.classify({ infer: stats.classify }), // the direction classifier, crops micro-batched across pages; orientation decided
            map((page) => controller.decide(page)), // pure: the page's result, or a correction plan
            bypass(isResult, transformer.apply(stats.transform)), // OpenCV threads: rotate / dewarp, re-tile
            map((page) => controller.loopStep(page)), // a result exits; a corrected page re-enters for its second pass
          ),
        stats.loop,
      ),
    );
    return options.budget ? records : records.pipe(releaseCredit(budget));
  });
}
