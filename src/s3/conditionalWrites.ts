/**
 * Conditional writes for s3rver, which ignores `If-Match` and `If-None-Match` on PutObject (real S3
 * honours both): a Koa middleware that the local server puts in front of s3rver's routes.
 *
 * Every write to an object key (PutObject, CopyObject, CompleteMultipartUpload, DeleteObject) runs
 * one at a time per key, and a PutObject's condition is checked against the object's current ETag
 * inside that turn, as S3 does atomically: `If-None-Match: *` fails with 412 when the key exists,
 * `If-Match: <etag>` with 412 when the ETag differs and with 404 when there is no object.
 */

/** The part of Koa's context the middleware uses. */
export interface WriteContext {
  method: string;
  path: string;
  query: Record<string, unknown>;
  get(header: string): string;
  status: number;
  type: string;
  body: unknown;
}

/** The part of s3rver's filesystem store the middleware uses. */
export interface ObjectStore {
  /** Rejects when the object is not there. */
  getMetadata(bucket: string, key: string): Promise<Record<string, string>>;
}

/** The tail of each key's queue of writes. */
const queues = new Map<string, Promise<unknown>>();

/** Runs `write` after every earlier write to `id`. */
function inTurn<T>(id: string, write: () => Promise<T>): Promise<T> {
  const turn = (queues.get(id) ?? Promise.resolve()).then(write, write);
  const tail = turn.catch(() => undefined);
  queues.set(id, tail);
  void tail.then(() => {
    if (queues.get(id) === tail) queues.delete(id);
  });
  return turn;
}

/** `bucket` and `key` of a path-style object URL, or undefined for a bucket or the service. */
function objectOf(path: string): { bucket: string; key: string } | undefined {
  const m = /^\/([^/]+)\/(.+)$/.exec(path);
  return m ? { bucket: decodeURIComponent(m[1]), key: decodeURIComponent(m[2]) } : undefined;
}

function reply(ctx: WriteContext, status: number, code: string, message: string): void {
  ctx.status = status;
  ctx.type = 'application/xml';
  ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
}

/** The middleware; `store` is s3rver's (`server.store`). */
export function conditionalWrites(store: ObjectStore) {
  return async (ctx: WriteContext, next: () => Promise<unknown>): Promise<unknown> => {
    const object = objectOf(ctx.path);
    const writes = ctx.method === 'PUT' || ctx.method === 'DELETE' || (ctx.method === 'POST' && 'uploadId' in ctx.query);
    // A part upload (PUT ?partNumber&uploadId) writes no object: parts of one upload stay parallel.
    if (!object || !writes || 'partNumber' in ctx.query) return next();
    return inTurn(`${object.bucket}/${object.key}`, async () => {
      const ifMatch = ctx.method === 'PUT' ? ctx.get('if-match') : '';
      const ifNoneMatch = ctx.method === 'PUT' ? ctx.get('if-none-match') : '';
      if (ifMatch || ifNoneMatch) {
        const etag = await store.getMetadata(object.bucket, object.key).then(
          (metadata) => metadata.etag,
          () => undefined,
        );
        if (ifNoneMatch === '*' && etag !== undefined) return reply(ctx, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
        if (ifMatch && etag === undefined) return reply(ctx, 404, 'NoSuchKey', 'The specified key does not exist.');
        if (ifMatch && etag !== ifMatch) return reply(ctx, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
      }
      return next();
    });
  };
}
