import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { Credits } from '../../operators';
import { backoffMs, isRetryable, sleep } from './retry';

export interface S3ContextOptions {
  /** A ready client (its own retry settings are kept); otherwise one is built from the fields below. */
  client?: S3Client;
  endpoint?: string;
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  forcePathStyle?: boolean;
  /** Concurrent requests in this process, shared by all volumes (default 64). */
  maxInflightGlobal?: number;
  /** Retries after the first attempt for retryable errors, at most (default: as many as `retryForMs` allows). */
  maxRetries?: number;
  /**
   * How long a call keeps retrying a retryable error, from its first attempt (default 30 000 ms:
   * rides out an endpoint restart or a short network outage). No retry starts after it.
   */
  retryForMs?: number;
  /** Backoff base (default 100 ms): retry n waits a random time in [0, min(base·2^n, maxBackoffMs)). */
  retryBaseMs?: number;
  /** The longest wait between two attempts (default 4000 ms). */
  maxBackoffMs?: number;
  /** An attempt that gets no response, or whose socket idles, this long fails (and is retried). */
  requestTimeoutMs?: number;
}

/** Request counters, for stats and benchmarks. */
export interface S3Counters {
  /** Attempts sent (a retried call counts each attempt). */
  requests: number;
  retries: number;
  /** Calls that failed for good (final error or retries used up; aborts not counted). */
  failures: number;
}

/** Per-call options. */
export interface CallOptions {
  signal?: AbortSignal;
  /** The volume's own request limit (`volumeLimiter`), taken before the global one. */
  limiter?: Credits;
}

/**
 * The process-wide S3 side: one client, one global in-flight limit shared by every volume, and the
 * retry loop every request goes through.
 *
 * An attempt holds a slot of the volume's limiter and of the global one while it runs (including
 * reading its body), and gives both back while it backs off. Retryable errors (5xx, throttling,
 * timeouts, resets, refused connections — also in the middle of a body) are retried with
 * full-jitter exponential backoff for up to `retryForMs` (30 s by default); 4xx errors such as
 * 403/404 are not. The built client has the SDK's own retries off
 * (`maxAttempts: 1`) so this loop is the only one.
 */
export class S3Context {
  readonly client: S3Client;
  /** Requests in flight in this process (`maxInflightGlobal`). */
  readonly global: Credits;
  readonly counters: S3Counters = { requests: 0, retries: 0, failures: 0 };
  private readonly maxRetries: number;
  private readonly retryForMs: number;
  private readonly retryBaseMs: number;
  private readonly maxBackoffMs: number;

  constructor(opts: S3ContextOptions = {}) {
    const maxInflight = opts.maxInflightGlobal ?? 64;
    this.global = new Credits(maxInflight, 's3MaxInflightGlobal');
    this.maxRetries = opts.maxRetries ?? Infinity;
    this.retryForMs = opts.retryForMs ?? 30_000;
    this.retryBaseMs = opts.retryBaseMs ?? 100;
    this.maxBackoffMs = opts.maxBackoffMs ?? 4000;
    this.client = opts.client ?? new S3Client(clientConfig(opts, maxInflight));
  }

  /** A per-volume limit (`prefetchConcurrency`-sized, or whatever the volume allows itself). */
  volumeLimiter(limit: number, volumeId: string): Credits {
    return new Credits(limit, `s3 volume ${volumeId}`);
  }

  /**
   * Runs `attempt` (one request, body read included) with the limits, retries and abort applied.
   * `attempt` gets an AbortSignal that fires when the caller aborts; pass it to `client.send`.
   */
  async call<T>(attempt: (signal: AbortSignal) => Promise<T>, opts: CallOptions = {}): Promise<T> {
    const { signal, limiter } = opts;
    const deadline = Date.now() + this.retryForMs;
    for (let n = 0; ; n++) {
      signal?.throwIfAborted();
      try {
        return await this.once(attempt, signal, limiter);
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        if (n >= this.maxRetries || !isRetryable(err) || Date.now() >= deadline) {
          this.counters.failures++;
          throw err;
        }
      }
      this.counters.retries++;
      await sleep(Math.min(backoffMs(n, this.retryBaseMs, this.maxBackoffMs), Math.max(0, deadline - Date.now())), signal);
    }
  }

  private async once<T>(attempt: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal, limiter?: Credits): Promise<T> {
    await limiter?.acquire(signal);
    try {
      await this.global.acquire(signal);
      try {
        this.counters.requests++;
        return await attempt(signal ?? new AbortController().signal);
      } finally {
        this.global.release();
      }
    } finally {
      limiter?.release();
    }
  }

  /** Closes the client's sockets. */
  destroy(): void {
    this.client.destroy();
  }
}

function clientConfig(opts: S3ContextOptions, maxSockets: number): S3ClientConfig {
  const timeout = opts.requestTimeoutMs ?? 60_000;
  return {
    endpoint: opts.endpoint,
    region: opts.region ?? process.env.AWS_REGION ?? 'us-east-1',
    credentials: opts.credentials,
    forcePathStyle: opts.forcePathStyle,
    maxAttempts: 1,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: {
      requestTimeout: timeout,
      throwOnRequestTimeout: true,
      socketTimeout: timeout,
      connectionTimeout: Math.min(timeout, 10_000),
      httpAgent: { keepAlive: true, maxSockets },
      httpsAgent: { keepAlive: true, maxSockets },
    },
  };
}

