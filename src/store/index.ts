import { resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { S3Context } from '../s3/context';
import type { Credits } from '../../operators';
import { LocalLocation } from './localLocation';
import type { Location } from './location';
import { S3Location } from './s3Location';

export type { Location, ObjectEntry, ObjectBytes, StagedWrite, SignalOption, WriteCondition } from './location';
export { NotFoundError, EtagMismatchError, WriteConflictError, InputMissingError } from './errors';
export { LocalLocation, localEtag } from './localLocation';
export { S3Location } from './s3Location';

/** The bucket and prefix (`''` or ending in `/`) of an `s3://` URL, undefined for other URLs; refuses `.`/`..` segments. */
export function parseS3Url(url: string): { bucket: string; prefix: string } | undefined {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!m) return undefined;
  if (m[2].split('/').some((seg) => seg === '.' || seg === '..')) throw new Error(`${url}: "." and ".." are not allowed in an S3 prefix`);
  return { bucket: m[1], prefix: m[2] === '' || m[2].endsWith('/') ? m[2] : `${m[2]}/` };
}

/**
 * Opens `s3://bucket/prefix/` (needs `s3`; `limiter` is the volume's own request limit) or a local
 * directory (a path or `file://` URL).
 */
export function openLocation(url: string, s3?: S3Context, opts: { limiter?: Credits } = {}): Location {
  const s3Url = parseS3Url(url);
  if (s3Url) {
    if (!s3) throw new Error(`${url}: an S3Context is needed to open an s3:// location`);
    return new S3Location(s3Url.bucket, s3Url.prefix, s3, opts.limiter);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !url.startsWith('file://')) throw new Error(`unsupported location: ${url} (use s3://bucket/prefix/ or a local directory)`);
  return new LocalLocation(url.startsWith('file://') ? fileURLToPath(url) : url);
}

/** A location URL as a comparable folder string ending in `/` (`s3://bucket/prefix/`, or an absolute local path). */
function folderOf(url: string): string {
  const s3Url = parseS3Url(url);
  if (s3Url) return `s3://${s3Url.bucket}/${s3Url.prefix}`;
  const path = resolve(url.startsWith('file://') ? fileURLToPath(url) : url);
  return path.endsWith(sep) ? path : `${path}${sep}`;
}

/**
 * Refuses a volume whose published folder (`<output>/<volumeId>/`, its tables and page images) lies
 * inside its input, or holds it: the next run would list its own published images as pages, and a
 * rerun would never be skipped.
 */
export function checkOutputOutsideInput(input: string, output: string, volumeId: string): void {
  const published = folderOf(`${output.replace(/\/?$/, '/')}${volumeId}`);
  const pages = folderOf(input);
  if (published.startsWith(pages) || pages.startsWith(published)) {
    throw new Error(`output ${output} publishes volume ${volumeId} at ${published}, which overlaps its input ${input}: the published page images would be read as pages; choose an output outside the input`);
  }
}
