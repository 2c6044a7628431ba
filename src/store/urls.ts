/**
 * Location URLs as text: what they name and whether they name one. No store code is loaded here
 * (the CLI checks its flags with it before loading the AWS SDK).
 */
import { resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const DOT_SEGMENTS = 'must not have "." or ".." segments in its S3 prefix';

/** The bucket and prefix (`''` or ending in `/`) of an `s3://` URL, undefined for other URLs; refuses `.`/`..` segments. */
export function parseS3Url(url: string): { bucket: string; prefix: string } | undefined {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!m) return undefined;
  if (m[2].split('/').some((seg) => seg === '.' || seg === '..')) throw new Error(`${url} ${DOT_SEGMENTS}`);
  return { bucket: m[1], prefix: m[2] === '' || m[2].endsWith('/') ? m[2] : `${m[2]}/` };
}

/**
 * Why `url` names no location, or undefined when it names one: `s3://bucket/prefix/`, a local
 * directory or a `file://` URL. The reason is worded to follow the URL or the flag that gave it
 * (`needs a bucket: s3://bucket/prefix/`).
 */
export function locationProblem(url: string): string | undefined {
  if (/^s3:/i.test(url) && !/^s3:\/\/[^/]+/.test(url)) return 'needs a bucket: s3://bucket/prefix/';
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !/^(s3|file):\/\//.test(url)) return 'is not a location this can read or write (use s3://bucket/prefix/ or a local directory)';
  try {
    parseS3Url(url);
  } catch {
    return DOT_SEGMENTS;
  }
  return undefined;
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
