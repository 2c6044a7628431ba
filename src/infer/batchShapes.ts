import type { Device } from './session';

/**
 * The batch shapes a session runs. On CUDA a new input shape costs kernel selection and memory
 * planning, so a partial batch is padded to one of a few shapes (powers of two up to `batchSize`,
 * and `batchSize` itself), each warmed up before the first page. On the CPU a batch runs at its own
 * size: padding would be computed for nothing, and a new shape costs little.
 */
export function batchShapes(batchSize: number): number[] {
  const shapes: number[] = [];
  for (let n = 1; n < batchSize; n *= 2) shapes.push(n);
  shapes.push(batchSize);
  return shapes;
}

/** The shapes a session on `device` is warmed up at. */
export function warmupShapes(batchSize: number, device: Device): number[] {
  return device === 'cuda' ? batchShapes(batchSize) : [batchSize];
}

/** The shape a batch of `count` patches runs as on `device`. */
export function shapeFor(count: number, batchSize: number, device: Device): number {
  return device === 'cuda' ? (batchShapes(batchSize).find((n) => n >= count) ?? batchSize) : count;
}
