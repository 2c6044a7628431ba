import { CreateMultipartUploadCommand, S3Client } from '@aws-sdk/client-s3';
import type { CallOptions, S3Context } from './context';

/** An S3Client view for helpers that drive the client themselves, such as lib-storage `Upload`. */
export interface TrackedClient {
  /** Every `send` goes through `S3Context.call` (limits, retries, the abort signal). */
  client: S3Client;
  /** The UploadId of the multipart upload it started, if any (for cleaning up after a failure). */
  readonly uploadId: string | undefined;
  /** Resolves once no request sent through `client` is in flight. */
  settled(): Promise<void>;
}

/**
 * Wraps the context's client so a helper's requests take the same global/volume slots and retry
 * loop as ours, and so we know when they are all over and which upload they started.
 */
export function trackedClient(s3: S3Context, opts: CallOptions): TrackedClient {
  const inflight = new Set<Promise<unknown>>();
  let uploadId: string | undefined;
  const send = (command: Parameters<S3Client['send']>[0], options?: { abortSignal?: AbortSignal }) => {
    const signal = options?.abortSignal && opts.signal ? AbortSignal.any([options.abortSignal, opts.signal]) : options?.abortSignal ?? opts.signal;
    const sent = s3.call((attemptSignal) => s3.client.send(command, { ...options, abortSignal: attemptSignal }), { ...opts, signal });
    const tracked = sent.then((out) => {
      if (command instanceof CreateMultipartUploadCommand) uploadId = (out as { UploadId?: string }).UploadId;
      return out;
    });
    const settle = tracked.then(noop, noop);
    inflight.add(settle);
    void settle.then(() => inflight.delete(settle));
    return tracked;
  };
  const client = new Proxy(s3.client, {
    get: (target, prop, receiver) => (prop === 'send' ? send : Reflect.get(target, prop, receiver)),
  });
  return {
    client,
    get uploadId() { return uploadId; },
    settled: async () => {
      while (inflight.size > 0) await Promise.all(inflight);
    },
  };
}

function noop(): void {}
