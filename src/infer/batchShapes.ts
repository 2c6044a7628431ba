import type { Device } from './session';

/**
 * The one batch shape a session is warmed up at. On CUDA every batch runs at one shape, `batchSize` (a partial
 * batch is padded), warmed up before the first page: measured on an H200 with the byte-wrapped
 * PP-OCRv4 detector (bench/gpu/shapes.js), runs of one shape took 31 ms at batch 32, while runs
 * alternating between warmed-up shapes (32/16/8) took 1.34 s each — the session re-plans on every
 * change of shape — so padding is far cheaper than a second shape. On the CPU a batch runs at its
 * own size: padding would be computed for nothing, and a new shape costs little; the full shape is
 * the one to warm up there too.
 */
export function warmupShapes(batchSize: number): number[] {
  return [batchSize];
}

/** The shape a batch of `count` patches runs as on `device`. */
export function shapeFor(count: number, batchSize: number, device: Device): number {
  return device === 'cuda' ? batchSize : count;
}
