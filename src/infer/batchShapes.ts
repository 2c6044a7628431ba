import type { Device } from './session';

/**
 * The shape a batch of `count` patches runs as on `device`. On CUDA every batch runs at one shape,
 * `batchSize` (a partial batch is padded), the one shape a session is warmed up at: measured on an
 * H200 with the byte-wrapped PP-OCRv4 detector (bench/gpu/shapes.js), runs of one shape took 31 ms
 * at batch 32, while runs alternating between warmed-up shapes (32/16/8) took 1.34 s each — the
 * session re-plans on every change of shape — so padding is far cheaper than a second shape. On the
 * CPU a batch runs at its own size: padding would be computed for nothing, and a new shape costs little.
 */
export function shapeFor(count: number, batchSize: number, device: Device): number {
  return device === 'cuda' ? batchSize : count;
}
