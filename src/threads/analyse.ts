import Piscina from 'piscina';
import type { Summarizer, SummaryOptions } from '../model/summarizers';
import type { AnalyseWorkerData, SummarizeResult, SummarizeTask } from '../stages/summariser';
import { stitchProbabilities } from '../infer/stitch';
import { buffersOf, moveWith } from '../infer/transfer';

/**
 * Analysis thread: turns a frame's byte patch maps into a PageSummary off the inference threads —
 * stitches them into one probability map of the frame's size and runs the adapter's summarizer
 * (text lines, skew, and for the default model the line crops for the direction classifier, which
 * runs on the inference threads). No model runs here.
 */
const { adapter } = Piscina.workerData as AnalyseWorkerData;
let summarizer: Summarizer | undefined;

/** Loads the adapter's summarizer module and awaits its `prepare(options)` export, when it has one. */
export async function prepare(): Promise<void> {
  const { module, options } = adapter.summarizer;
  await (require(module) as { prepare?: (o: SummaryOptions) => Promise<void> }).prepare?.(options);
}

/** Loads the adapter's summarizer (once per thread). */
function loadSummarizer(): Summarizer {
  if (!summarizer) {
    const { module, exportName } = adapter.summarizer;
    const loaded = require(module)[exportName] as Summarizer | undefined;
    if (typeof loaded !== 'function') throw new Error(`summarizer ${exportName} not found in ${module}`);
    summarizer = loaded;
  }
  return summarizer;
}

/** Stitches a frame's byte maps into probabilities and summarizes the page (its pixels and any line crops moved back). */
export async function summarize(task: SummarizeTask): Promise<SummarizeResult> {
  const start = performance.now();
  const prob = stitchProbabilities(task.maps, task.grid, task.width, task.height);
  const out = await loadSummarizer()({ prob, width: task.width, height: task.height, pixels: task.pixels }, adapter.summarizer.options);
  const ms = performance.now() - start;
  if (!('direction' in out)) return moveWith({ summary: out, pixels: task.pixels, ms }, buffersOf(task.pixels));
  return moveWith({ ...out, pixels: task.pixels, ms }, buffersOf(task.pixels, out.direction.crops.data));
}
