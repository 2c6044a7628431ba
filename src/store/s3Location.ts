import { Transform, type Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand, CopyObjectCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand,
  ListObjectsV2Command, PutObjectCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { S3Context } from '../s3/context';
import type { Credits } from '../../operators';
import { httpStatusOf } from '../s3/retry';
import { trackedClient } from '../s3/trackedClient';
import { copyLargeObject, copySource, SINGLE_COPY_LIMIT } from './s3Copy';
import { EtagMismatchError, NotFoundError, WriteConflictError } from './errors';
import type { Location, ObjectBytes, ObjectEntry, SignalOption, StagedWrite, WriteCondition } from './location';

/** Multipart part size and parts uploaded at once: a write holds at most about PART_SIZE × (QUEUE + 1) bytes. */
const PART_SIZE = 5 * 1024 * 1024;
const QUEUE_SIZE = 2;

/** `s3://bucket/prefix/`: every request goes through the S3Context (limits, retries, abort). */
export class S3Location implements Location {
  readonly kind = 's3' as const;

  /** `prefix` is '' or ends with '/'. */
  constructor(readonly bucket: string, readonly prefix: string, private readonly s3: S3Context, private readonly limiter?: Credits) {}

  get url(): string {
    return `s3://${this.bucket}/${this.prefix}`;
  }

  child(prefix: string): S3Location {
    return new S3Location(this.bucket, joinPrefix(this.prefix, prefix), this.s3, this.limiter);
  }

  async *list(opts: { pageSize: number } & SignalOption): AsyncIterable<ObjectEntry[]> {
    let token: string | undefined;
    do {
      const page = await this.call(
        (abortSignal) => this.s3.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix, MaxKeys: opts.pageSize, ContinuationToken: token }), { abortSignal }),
        opts.signal,
      );
      yield (page.Contents ?? [])
        .filter((o) => o.Key !== undefined && !o.Key.endsWith('/'))
        .map((o) => ({ key: (o.Key as string).slice(this.prefix.length), etag: o.ETag ?? '', size: o.Size ?? 0 }));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /**
   * Sends If-Match when `etag` is given and also compares the returned ETag (some S3 emulators
   * ignore If-Match). The body is read inside the retry loop, so a reset mid-body is retried.
   */
  async get(key: string, opts: { etag?: string } & SignalOption = {}): Promise<ObjectBytes> {
    const Key = this.objectKey(key);
    try {
      return await this.call(async (abortSignal) => {
        const res = await this.s3.client.send(new GetObjectCommand({ Bucket: this.bucket, Key, IfMatch: opts.etag }), { abortSignal });
        const body = res.Body as (Readable & { transformToByteArray(): Promise<Uint8Array> }) | undefined;
        if (!body) throw new Error(`GetObject returned no body for ${Key}`);
        if (opts.etag !== undefined && res.ETag !== opts.etag) {
          body.destroy();
          throw new EtagMismatchError(key, opts.etag, res.ETag);
        }
        const stop = () => body.destroy(abortSignal.reason as Error);
        abortSignal.addEventListener('abort', stop, { once: true });
        try {
          return { bytes: await body.transformToByteArray(), etag: res.ETag ?? '' };
        } finally {
          abortSignal.removeEventListener('abort', stop);
        }
      }, opts.signal);
    } catch (err) {
      const status = httpStatusOf(err);
      if (status === 404) throw new NotFoundError(key);
      if (status === 412 && opts.etag !== undefined) throw new EtagMismatchError(key, opts.etag, undefined);
      throw err;
    }
  }

  /**
   * A lib-storage multipart upload fed by a stream. Its requests share our limits and retries; on
   * abort the upload is aborted (AbortMultipartUpload; emulators without it answer 405, which is
   * fine) and any object already completed at `key` is deleted.
   */
  async write(key: string, opts: SignalOption = {}): Promise<StagedWrite> {
    const Key = this.objectKey(key);
    const stop = new AbortController();
    const signal = opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal;
    const tracked = trackedClient(this.s3, { signal, limiter: this.limiter });
    let bytes = 0;
    const stream = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        bytes += chunk.length;
        callback(null, chunk);
      },
    });
    const upload = new Upload({ client: tracked.client, params: { Bucket: this.bucket, Key, Body: stream }, partSize: PART_SIZE, queueSize: QUEUE_SIZE, leavePartsOnError: true });
    const done = upload.done();
    // A failed or aborted upload fails the writes still waiting on the stream instead of leaving them hanging.
    done.catch((err: Error) => stream.destroy(err));
    signal.addEventListener('abort', () => stream.destroy(signal.reason as Error), { once: true });
    const cleanUp = async () => {
      stop.abort();
      stream.destroy();
      await done.catch(() => undefined);
      await tracked.settled();
      if (tracked.uploadId) {
        await this.cleanupCall((abortSignal) => this.s3.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId: tracked.uploadId }), { abortSignal }));
      }
      await this.delete(key);
    };
    return {
      stream,
      finish: async () => {
        if (!stream.writableEnded) stream.end();
        try {
          const out = await done;
          return { bytes, etag: out.ETag ?? '' };
        } catch (err) {
          await cleanUp();
          throw err;
        }
      },
      abort: cleanUp,
    };
  }

  async adopt(source: Location, sourceKey: string, key: string, opts: SignalOption = {}): Promise<{ bytes: number; etag: string }> {
    if (!(source instanceof S3Location)) throw new Error(`cannot publish from ${source.url} to ${this.url}: staging and output must both be S3`);
    const from = { Bucket: source.bucket, Key: source.objectKey(sourceKey) };
    const Key = this.objectKey(key);
    const head = await this.call((abortSignal) => this.s3.client.send(new HeadObjectCommand(from), { abortSignal }), opts.signal);
    const size = head.ContentLength ?? 0;
    if (size > SINGLE_COPY_LIMIT) {
      const etag = await copyLargeObject(this.s3, from, { Bucket: this.bucket, Key }, size, { signal: opts.signal, limiter: this.limiter });
      return { bytes: size, etag };
    }
    const out = await this.call(
      (abortSignal) => this.s3.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key, CopySource: copySource(from) }), { abortSignal }),
      opts.signal,
    );
    return { bytes: size, etag: out.CopyObjectResult?.ETag ?? '' };
  }

  async copy(source: Location, sourceKey: string, key: string, opts: { etag?: string } & SignalOption = {}): Promise<{ bytes: number; etag: string }> {
    if (!(source instanceof S3Location)) throw new Error(`cannot copy from ${source.url} to ${this.url}: both must be S3`);
    const from = { Bucket: source.bucket, Key: source.objectKey(sourceKey) };
    const Key = this.objectKey(key);
    try {
      const head = await this.call((abortSignal) => this.s3.client.send(new HeadObjectCommand({ ...from, IfMatch: opts.etag }), { abortSignal }), opts.signal);
      // Some emulators ignore If-Match: the ETag is compared here too.
      if (opts.etag !== undefined && head.ETag !== opts.etag) throw new EtagMismatchError(sourceKey, opts.etag, head.ETag);
      const size = head.ContentLength ?? 0;
      if (size > SINGLE_COPY_LIMIT) return { bytes: size, etag: await copyLargeObject(this.s3, from, { Bucket: this.bucket, Key }, size, { signal: opts.signal, limiter: this.limiter }) };
      const out = await this.call(
        (abortSignal) => this.s3.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key, CopySource: copySource(from), CopySourceIfMatch: opts.etag }), { abortSignal }),
        opts.signal,
      );
      return { bytes: size, etag: out.CopyObjectResult?.ETag ?? '' };
    } catch (err) {
      const status = httpStatusOf(err);
      if (status === 404) throw new NotFoundError(sourceKey);
      if (status === 412 && opts.etag !== undefined) throw new EtagMismatchError(sourceKey, opts.etag, undefined);
      throw err;
    }
  }

  async putBytes(key: string, bytes: Uint8Array, opts: { contentType?: string } & SignalOption = {}): Promise<{ bytes: number; etag: string }> {
    const Key = this.objectKey(key);
    const out = await this.call(
      (abortSignal) => this.s3.client.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body: bytes, ContentType: opts.contentType }), { abortSignal }),
      opts.signal,
    );
    return { bytes: bytes.length, etag: out.ETag ?? '' };
  }

  /**
   * A PutObject with the condition as If-None-Match: '*' / If-Match: <etag>. A 412 (or 409) means
   * another writer got there first (`WriteConflictError`); a store that does not implement the
   * headers (501) gets a plain put, and one that ignores them (a bare s3rver 3.7.1) just overwrites.
   */
  async putText(key: string, text: string, opts: WriteCondition & SignalOption = {}): Promise<void> {
    const Key = this.objectKey(key);
    const put = (cond: WriteCondition) =>
      this.call(
        (abortSignal) =>
          this.s3.client.send(
            new PutObjectCommand({ Bucket: this.bucket, Key, Body: text, ContentType: 'application/json', IfNoneMatch: cond.ifNoneMatch ? '*' : undefined, IfMatch: cond.ifMatch }),
            { abortSignal },
          ),
        opts.signal,
      );
    const conditional = opts.ifNoneMatch !== undefined || opts.ifMatch !== undefined;
    try {
      await put(opts);
    } catch (err) {
      const status = httpStatusOf(err);
      // 412: the condition failed; 409: a concurrent conditional write; 404 with If-Match: the object was deleted since it was read.
      if (conditional && (status === 412 || status === 409 || (status === 404 && opts.ifMatch !== undefined))) throw new WriteConflictError(key);
      if (conditional && status === 501) await put({});
      else throw err;
    }
  }

  async readText(key: string, opts: SignalOption = {}): Promise<{ text: string; etag: string } | undefined> {
    try {
      const { bytes, etag } = await this.get(key, opts);
      return { text: Buffer.from(bytes).toString('utf8'), etag };
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }

  async head(key: string, opts: SignalOption = {}): Promise<{ bytes: number; etag: string } | undefined> {
    const Key = this.objectKey(key);
    try {
      const out = await this.call((abortSignal) => this.s3.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key }), { abortSignal }), opts.signal);
      return { bytes: out.ContentLength ?? 0, etag: out.ETag ?? '' };
    } catch (err) {
      if (httpStatusOf(err) === 404) return undefined;
      throw err;
    }
  }

  async delete(key: string, opts: SignalOption = {}): Promise<void> {
    const Key = this.objectKey(key);
    await this.cleanupCall((abortSignal) => this.s3.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key }), { abortSignal }), opts.signal);
  }

  /**
   * The object key of `key` under the prefix. Keys with `.` or `..` segments are refused: HTTP
   * clients and some stores normalise them, which would reach outside the prefix.
   */
  objectKey(key: string): string {
    if (key.split('/').some((seg) => seg === '.' || seg === '..')) throw new Error(`key leaves ${this.url}: ${key}`);
    return this.prefix + key;
  }

  private call<T>(attempt: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.s3.call(attempt, { signal, limiter: this.limiter });
  }

  /** A cleanup request: 404 (already gone) and 405/501 (emulator lacks the call) are not errors. */
  private async cleanupCall(attempt: (signal: AbortSignal) => Promise<unknown>, signal?: AbortSignal): Promise<void> {
    try {
      await this.call(attempt, signal);
    } catch (err) {
      const status = httpStatusOf(err);
      if (status !== 404 && status !== 405 && status !== 501) throw err;
    }
  }
}

/** `a/` + `b` → `a/b/`; '' stays ''. */
export function joinPrefix(prefix: string, sub: string): string {
  const clean = sub.replace(/^\/+|\/+$/g, '');
  return clean ? `${prefix}${clean}/` : prefix;
}
