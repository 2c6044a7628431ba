import * as ort from 'onnxruntime-node';
import type { PageSummary } from '../types';
import { findTextLines, summarizeGeometry } from './textlines';
import { CLS_HEIGHT, CLS_WIDTH, readsUpsideDown, type CropClassifier } from './orientation';

/**
 * Frame summarizers: the functions an adapter names for the analysis worker to turn a stitched
 * probability map into a PageSummary. They run in worker threads, never on the main thread.
 */

/** What a summarizer gets: the frame's stitched map (frame size) and its RGB pixels. */
export interface SummaryInput {
  prob: Float32Array;
  width: number;
  height: number;
  pixels: Uint8Array;
}

/** Adapter-chosen options, passed through from `ModelAdapter.summarizer.options`. */
export type SummaryOptions = Record<string, string | number | boolean>;

export type Summarizer = (input: SummaryInput, options: SummaryOptions) => Promise<PageSummary> | PageSummary;

/** Geometry only: orientation 0 or 90 from the line direction, no upside-down test. */
export const summarizeTextGeometry: Summarizer = ({ prob, width, height, pixels }) =>
  summarizeGeometry(findTextLines(prob, width, height, pixels), width, height, false);

const classifiers = new Map<string, Promise<CropClassifier>>();

/**
 * This thread's direction classifier for a model file (its session created once, one intra-op
 * thread): line crops in, softmax [count, 2] out.
 */
export function directionClassifier(path: string): Promise<CropClassifier> {
  let classify = classifiers.get(path);
  if (!classify) {
    classify = ort.InferenceSession.create(path, { intraOpNumThreads: 1, interOpNumThreads: 1 }).then((session) => async (data, count) => {
      const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', data, [count, 3, CLS_HEIGHT, CLS_WIDTH]) });
      return out[session.outputNames[0]].data as Float32Array;
    });
    classifiers.set(path, classify);
  }
  return classify;
}

/**
 * Opens what the summarizers of this module need before the first page (the direction classifier,
 * when `classifierPath` is set), so no page pays for it. Analysis workers call a summarizer
 * module's `prepare` export, when it has one, while they warm up.
 */
export async function prepare(options: SummaryOptions): Promise<void> {
  if (options.classifierPath) await directionClassifier(String(options.classifierPath));
}

/**
 * Geometry plus the direction classifier (option `classifierPath`) on straightened crops of the
 * longest lines, which tells 0 from 180 and 90 from 270.
 */
export const summarizeTextPage: Summarizer = async ({ prob, width, height, pixels }, options) => {
  const geometry = findTextLines(prob, width, height, pixels);
  const classify = await directionClassifier(String(options.classifierPath));
  const flipped = await readsUpsideDown(geometry.fragments, pixels, width, height, classify);
  return summarizeGeometry(geometry, width, height, flipped);
};
