/** The S3 side: one client and request budget per process, retries, and a local s3rver for tests/demos. */
export { S3Context, type S3ContextOptions, type S3Counters, type CallOptions } from './context';
export { isRetryable, backoffMs, describeError } from './retry';
export { startLocalS3Server, s3ClientConfigFor, type LocalS3Server, type LocalS3ServerOptions } from './localS3Server';
