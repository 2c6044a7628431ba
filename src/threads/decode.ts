import { decodeImage } from '../decode/decodeImage';
import type { DecodeResult, DecodeTask } from '../stages/decoder';
import { buffersOf, moveWith } from '../infer/transfer';
import { useLibvipsInPoolThreads } from './libvips';

/** Decode worker. Each piscina thread decodes one image at a time (libvips: see `useLibvipsInPoolThreads`). */
useLibvipsInPoolThreads();

/** Decodes one image; the frame's pixel and patch buffers are moved back, not copied. */
export async function decode(task: DecodeTask): Promise<DecodeResult> {
  const start = performance.now();
  const outcome = await decodeImage(task.bytes, task);
  const ms = performance.now() - start;
  if (!outcome.frame) return { error: outcome.error, ms };
  return moveWith({ frame: outcome.frame, ms }, buffersOf(outcome.frame.pixels, outcome.frame.patches.data));
}
