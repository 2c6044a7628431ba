import { S3Context } from '../s3/context';

/** Whether a location URL is on S3. */
export function isS3Url(url: string): boolean {
  return url.startsWith('s3://');
}

/**
 * The S3 side for `rxvolume run`: credentials from the AWS SDK's default chain (environment,
 * shared profile, SSO, instance role), region from AWS_REGION / AWS_DEFAULT_REGION. With
 * `endpoint` (MinIO, s3rver, ...) requests are path-style.
 */
export function cliS3Context(endpoint: string | undefined, opts: { retryForMs?: number } = {}): S3Context {
  const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  return new S3Context(endpoint ? { endpoint, region, forcePathStyle: true, ...opts } : { region, ...opts });
}
