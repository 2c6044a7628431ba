import { fileURLToPath } from 'node:url';
import type { S3Context } from '../s3/context';
import type { Credits } from '../../operators';
import { LocalLocation } from './localLocation';
import type { Location } from './location';
import { S3Location } from './s3Location';
import { locationProblem, parseS3Url } from './urls';

export type { Location, ObjectEntry, ObjectBytes, StagedWrite, SignalOption, WriteCondition } from './location';
export { NotFoundError, EtagMismatchError, WriteConflictError, InputMissingError } from './errors';
export { LocalLocation, localEtag } from './localLocation';
export { S3Location } from './s3Location';
export { checkOutputOutsideInput, locationProblem, parseS3Url } from './urls';

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
  const problem = locationProblem(url);
  if (problem) throw new Error(`${url} ${problem}`);
  return new LocalLocation(url.startsWith('file://') ? fileURLToPath(url) : url);
}

/**
 * Where a volume's attempts stage their files: `cfg.staging`, else `<output>/_staging/` opened as a
 * child of `output` (so that on a folder a delete there may also remove an output folder the run
 * made). The one rule for the writer and the fleet's staging sweep (which must look where the
 * writer wrote).
 */
export function openStaging(cfg: { staging?: string }, output: Location, s3?: S3Context): Location {
  return cfg.staging === undefined ? output.child('_staging/') : openLocation(cfg.staging, s3);
}
