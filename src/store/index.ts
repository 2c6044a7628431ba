import { fileURLToPath } from 'node:url';
import type { S3Context } from '../s3/context';
import type { Limiter } from '../s3/limiter';
import { LocalLocation } from './localLocation';
import type { Location } from './location';
import { S3Location } from './s3Location';

export type { Location, ObjectEntry, ObjectBytes, StagedWrite, SignalOption } from './location';
export { NotFoundError, EtagMismatchError, AlreadyExistsError } from './errors';
export { LocalLocation, localEtag } from './localLocation';
export { S3Location } from './s3Location';

/**
 * Opens `s3://bucket/prefix/` (needs `s3`; `limiter` is the volume's own request limit) or a local
 * directory (a path or `file://` URL).
 */
export function openLocation(url: string, s3?: S3Context, opts: { limiter?: Limiter } = {}): Location {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (m) {
    if (!s3) throw new Error(`${url}: an S3Context is needed to open an s3:// location`);
    const prefix = m[2] === '' || m[2].endsWith('/') ? m[2] : `${m[2]}/`;
    return new S3Location(m[1], prefix, s3, opts.limiter);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !url.startsWith('file://')) throw new Error(`unsupported location: ${url} (use s3://bucket/prefix/ or a local directory)`);
  return new LocalLocation(url.startsWith('file://') ? fileURLToPath(url) : url);
}
