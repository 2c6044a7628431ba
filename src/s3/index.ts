/** The S3 side: one client and request budget per process, and retries (the local s3rver for tests and the demo: `rxvolume/demo`). */
export { S3Context, type S3ContextOptions, type S3Counters, type CallOptions } from './context';
export { isRetryable, backoffMs, describeError } from './retry';
