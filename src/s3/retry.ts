/** Which S3 errors are worth another attempt, and how long to wait before it. */

const RETRYABLE_NAMES = new Set([
  'SlowDown', 'Throttling', 'ThrottlingException', 'TooManyRequestsException', 'RequestTimeout',
  'RequestTimeoutException', 'TimeoutError', 'InternalError', 'ServiceUnavailable',
]);
const RETRYABLE_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ERR_STREAM_PREMATURE_CLOSE',
]);

interface ErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

/** The HTTP status of an SDK error, if it got a response. */
export function httpStatusOf(err: unknown): number | undefined {
  return (err as ErrorShape | undefined)?.$metadata?.httpStatusCode;
}

/**
 * True for 5xx (but not 501 Not Implemented), 429, throttling, timeouts and dropped connections
 * (also when the connection drops while the body is read). 4xx such as 403 AccessDenied or 404
 * NoSuchKey are final.
 */
export function isRetryable(err: unknown): boolean {
  const e = (err ?? {}) as ErrorShape;
  if (e.name === 'AbortError') return false;
  const status = httpStatusOf(err);
  if (status !== undefined && status >= 400 && status < 500) return status === 429 || RETRYABLE_NAMES.has(e.name ?? '');
  if (status !== undefined && status >= 500) return status !== 501;
  if (RETRYABLE_NAMES.has(e.name ?? '') || RETRYABLE_CODES.has(e.code ?? '')) return true;
  // The SDK's retry middleware turns what it does not see as an Error (e.g. from another realm) into "AWS SDK error wrapper for <text>": the code is only in the text.
  return /socket hang up|aborted|premature close|ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|EAI_AGAIN|other side closed/i.test(e.message ?? '');
}

/** Full-jitter exponential backoff: a random delay in [0, min(base·2^attempt, capMs)). */
export function backoffMs(attempt: number, baseMs: number, capMs = Infinity, random: () => number = Math.random): number {
  return Math.floor(random() * Math.min(capMs, baseMs * 2 ** attempt));
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A one-line description of an S3/network error for an error row. */
export function describeError(err: unknown): string {
  const e = (err ?? {}) as ErrorShape;
  const status = httpStatusOf(err);
  const name = e.name && e.name !== 'Error' ? e.name : e.code ?? 'Error';
  return `${name}${status ? ` (HTTP ${status})` : ''}${e.message && e.message !== e.name ? `: ${e.message}` : ''}`;
}
