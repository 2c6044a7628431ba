import type { PageSummary } from '../types';
import { findTextLines, summarizeGeometry } from './textlines';
import { directionRequest, type DirectionRequest } from './orientation';

/**
 * Frame summarizers: the functions an adapter names for the analysis threads to turn a stitched
 * probability map into a PageSummary. They run in worker threads, never on the main thread, and
 * run no model: a summarizer whose adapter has a direction classifier returns the page read
 * upright with the line crops to classify (`PageAnalysis`); the classifier runs on the inference
 * threads, crops of many pages to a batch, and `orientPage` decides.
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

/** A page read upright in its base orientation (0 or 90), and what its 0-or-180 is decided from. */
export interface PageAnalysis {
  summary: PageSummary;
  direction: DirectionRequest;
}

export type Summarizer = (input: SummaryInput, options: SummaryOptions) => Promise<PageSummary | PageAnalysis> | PageSummary | PageAnalysis;

/** Geometry only: orientation 0 or 90 from the line direction, no upside-down test. */
export const summarizeTextGeometry: Summarizer = ({ prob, width, height, pixels }) =>
  summarizeGeometry(findTextLines(prob, width, height, pixels), width, height, false);

/**
 * Geometry, read upright, plus the crops of the longest lines for the direction classifier (the
 * adapter's `classifier`), which tells 0 from 180 and 90 from 270.
 */
export const summarizeTextPage: Summarizer = ({ prob, width, height, pixels }) => {
  const geometry = findTextLines(prob, width, height, pixels);
  return { summary: summarizeGeometry(geometry, width, height, false), direction: directionRequest(geometry, pixels, width, height) };
};
