import Piscina from 'piscina';

/**
 * A worker result whose `buffers` are moved (transferred) back to the caller rather than copied.
 * Piscina's `move()` takes one buffer; this wraps several in its Transferable protocol.
 */
export function moveWith<T>(value: T, buffers: ArrayBufferLike[]): T {
  const movable = { [Piscina.transferableSymbol]: buffers, [Piscina.valueSymbol]: value };
  return Piscina.move(movable as never) as T;
}

/** The ArrayBuffers behind typed arrays, for a transfer list (they must own plain ArrayBuffers). */
export function buffersOf(...views: ArrayBufferView[]): ArrayBuffer[] {
  return views.map((v) => v.buffer as ArrayBuffer);
}
