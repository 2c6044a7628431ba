import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import type { CallOptions, S3Context } from '../s3/context';

/** CopyObject copies objects up to 5 GiB; larger ones are copied part by part. */
export const SINGLE_COPY_LIMIT = 5 * 1024 ** 3;
/** Part size of a multipart copy. */
const COPY_PART_SIZE = 512 * 1024 ** 2;

type ObjectRef = { Bucket: string; Key: string };

/**
 * Server-side copy of an object larger than 5 GiB: CreateMultipartUpload, one UploadPartCopy per
 * 512 MiB range (in order), CompleteMultipartUpload. On failure the upload is aborted. Returns the
 * new object's ETag.
 */
export async function copyLargeObject(s3: S3Context, from: ObjectRef, to: ObjectRef, size: number, opts: CallOptions): Promise<string> {
  const { UploadId } = await s3.call((abortSignal) => s3.client.send(new CreateMultipartUploadCommand(to), { abortSignal }), opts);
  try {
    const parts: Array<{ PartNumber: number; ETag: string }> = [];
    for (let start = 0, PartNumber = 1; start < size; start += COPY_PART_SIZE, PartNumber++) {
      const end = Math.min(size, start + COPY_PART_SIZE) - 1;
      const out = await s3.call(
        (abortSignal) => s3.client.send(new UploadPartCopyCommand({ ...to, UploadId, PartNumber, CopySource: copySource(from), CopySourceRange: `bytes=${start}-${end}` }), { abortSignal }),
        opts,
      );
      parts.push({ PartNumber, ETag: out.CopyPartResult?.ETag ?? '' });
    }
    const done = await s3.call(
      (abortSignal) => s3.client.send(new CompleteMultipartUploadCommand({ ...to, UploadId, MultipartUpload: { Parts: parts } }), { abortSignal }),
      opts,
    );
    return done.ETag ?? '';
  } catch (err) {
    await s3.call((abortSignal) => s3.client.send(new AbortMultipartUploadCommand({ ...to, UploadId }), { abortSignal }), { limiter: opts.limiter }).catch(() => undefined);
    throw err;
  }
}

/** The CopySource header value: bucket/key with the key URL-encoded. */
export function copySource(from: ObjectRef): string {
  return `${from.Bucket}/${from.Key.split('/').map(encodeURIComponent).join('/')}`;
}
