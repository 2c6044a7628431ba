import { buffersOf, moveWith } from '../infer/transfer';
import { correctFrame } from '../transform/correct';
import type { TransformTask } from '../stages/transformer';
import type { DecodedFrame } from '../types';
import { useLibvipsInPoolThreads } from './libvips';

// This thread loads sharp (rotations, page images), which turns libvips' process-wide cache back on.
useLibvipsInPoolThreads();

/**
 * Transform worker: applies a page's correction plan (rotation, then optional thin-plate-spline
 * dewarp) on OpenCV, initialised once per thread on first use, and re-tiles the corrected frame
 * into model patches. Pixels come in transferred and the new frame's buffers go back transferred.
 *
 * The corrected frame, at analysis scale, with its patches. */
export async function transform(task: TransformTask): Promise<DecodedFrame> {
  const { pixels, width, height, plan, lines, layout, maxSide } = task;
  if (!(width > 0 && height > 0) || pixels.length < width * height * 3) {
    throw new Error(`frame of ${width}×${height} needs ${width * height * 3} bytes of RGB, got ${pixels.length}`);
  }
  const frame = await correctFrame({ width, height, pixels, sourceWidth: task.sourceWidth, sourceHeight: task.sourceHeight }, plan, lines, layout, maxSide);
  return moveWith(frame, buffersOf(frame.pixels, frame.patches.data));
}

/** The full-resolution corrected page image (see `fullResolutionImage`). */
export { fullResolutionImage } from '../correct/pageImage';
