/**
 * Batch sizes a session runs: powers of two up to `batchSize`, and `batchSize` itself. A partial
 * batch is padded to the next of these, so a worker sees only a few shapes and can warm each up.
 */
export function batchShapes(batchSize: number): number[] {
  const shapes: number[] = [];
  for (let n = 1; n < batchSize; n *= 2) shapes.push(n);
  shapes.push(batchSize);
  return shapes;
}

/** The shape a batch of `count` patches runs as. */
export function shapeFor(count: number, batchSize: number): number {
  return batchShapes(batchSize).find((n) => n >= count) ?? batchSize;
}
