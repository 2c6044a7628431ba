import { S3Context, type S3ContextOptions } from '../s3/context';

/** An S3Context given ready, or built from options (and then destroyed by `release`). */
export function s3From(s3: S3Context | S3ContextOptions | undefined): { s3?: S3Context; release(): void } {
  if (s3 === undefined) return { release: () => undefined };
  if (s3 instanceof S3Context) return { s3, release: () => undefined };
  const own = new S3Context(s3);
  return { s3: own, release: () => own.destroy() };
}
