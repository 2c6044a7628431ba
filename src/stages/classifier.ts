import { EMPTY, Observable, OperatorFunction, map, merge } from 'rxjs';
import { bypass, exitLoop, feedbackLoop, reenterLoop, type LoopStep } from '../../operators';
import type { BatchedModel, BatchedModelStats, UnitJob } from '../infer/batchedModel';
import { CLS_CROP_FLOATS } from '../model/lineCrops';
import { orientPage, secondRound } from '../model/orientation';
import { failed, type AnalysedPage, type FailedPage, type SummarisedPage } from '../page';

/** A page's round of crops on its way through the classifier, with the scores of its earlier rounds. */
interface Round {
  page: AnalysedPage;
  /** Softmax pairs of the crops classified so far (the first round's, once it is back). */
  earlier: Float32Array;
}

/** Crops (float32, CLS_CROP_FLOATS each) as the bytes a batch carries, from crop `from` on, `count` of them. */
function cropBytes(crops: Float32Array, from: number, count: number): Uint8Array {
  return new Uint8Array(crops.buffer, crops.byteOffset + from * CLS_CROP_FLOATS * 4, count * CLS_CROP_FLOATS * 4);
}

const isLeaving = (page: AnalysedPage | SummarisedPage | FailedPage | UnitJob<Round>): page is SummarisedPage | FailedPage => 'state' in page && page.state !== 'analysed';

/**
 * The direction classifier over analysed pages: their line crops go to the inference threads
 * micro-batched ACROSS pages (the `BatchedModel` the GpuBatcher made for the classifier), and the
 * page's orientation is decided from the scores (`orientPage`, a pure function). A page's first
 * round of crops (its longest lines') goes first; its second round only when the first leaves the
 * page open (`secondRound`), so a page goes round at most twice. Pages already summarised (an
 * adapter without a classifier) and failed pages pass; a page whose batch failed fails, and so does
 * one with crops when the adapter has no classifier.
 *
 * ```
 * analysed:   -a------b--------|
 * batches:    ---[a1 b1]---[b2]--       (a decided by its first round, b needs its second)
 * summarised: ------A---------B|
 * ```
 */
export class DirectionClassifier {
  constructor(private readonly model: BatchedModel | undefined) {}

  /** Analysed pages in, summarised pages out (in completion order). */
  classify(stats?: BatchedModelStats): OperatorFunction<AnalysedPage | SummarisedPage | FailedPage, SummarisedPage | FailedPage> {
    const { model } = this;
    const start = (page: AnalysedPage) => {
      if (page.direction.crops.rounds[0] === 0) return orientedBy(page, new Float32Array(0), 0);
      return model ? firstRound(page) : failed(page, 'the summarizer cut line crops, but the model adapter has no direction classifier');
    };
    return (pages) =>
      pages.pipe(
        map((page) => (page.state === 'analysed' ? start(page) : page)),
        bypass(isLeaving, (jobs: Observable<UnitJob<Round>>) =>
          model ? jobs.pipe(feedbackLoop((first$, again$) => merge(first$, again$).pipe(model.run(stats), map(afterRound)))) : EMPTY,
        ),
      );
  }
}

/** The job of a page's first round of crops. */
function firstRound(page: AnalysedPage): UnitJob<Round> {
  const count = page.direction.crops.rounds[0];
  return { item: { page, earlier: new Float32Array(0) }, count, input: cropBytes(page.direction.crops.data, 0, count), output: new Uint8Array(count * 8), ms: 0 };
}

/** After a round: the page leaves oriented, or goes round again with its second round's crops. */
function afterRound(job: UnitJob<Round>): LoopStep<UnitJob<Round>, SummarisedPage | FailedPage> {
  const { page, earlier } = job.item;
  if (job.error) return exitLoop(failed(page, job.error));
  const softmax = new Float32Array(earlier.length + job.count * 2);
  softmax.set(earlier);
  softmax.set(new Float32Array(job.output.buffer, job.output.byteOffset, job.count * 2), earlier.length);
  const { crops } = page.direction;
  if (earlier.length === 0 && secondRound(crops, softmax)) {
    const [first, second] = crops.rounds;
    return reenterLoop({ item: { page, earlier: softmax }, count: second, input: cropBytes(crops.data, first, second), output: new Uint8Array(second * 8), ms: job.ms });
  }
  return exitLoop(orientedBy(page, softmax, job.ms));
}

/** The page summarised: its orientation decided from the crops' scores, the classifier's time added to its inference time. */
function orientedBy(page: AnalysedPage, softmax: Float32Array, ms: number): SummarisedPage {
  const { direction, summary, state: _analysed, ...rest } = page;
  return { ...rest, state: 'summarised', summary: orientPage(summary, direction, softmax), timings: { ...page.timings, inferMs: page.timings.inferMs + ms } };
}
