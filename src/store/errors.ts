/** The object is not there (S3 404 NoSuchKey, ENOENT). */
export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
  constructor(readonly key: string) {
    super(`not found: ${key}`);
  }
}

/** The object changed since it was listed. */
export class EtagMismatchError extends Error {
  override readonly name = 'EtagMismatchError';
  constructor(readonly key: string, readonly expected: string, readonly actual: string | undefined) {
    super(`ETag changed since listing: ${key} (listed ${expected}, now ${actual ?? 'unknown'})`);
  }
}

/** An exclusive write found the object already there. */
export class AlreadyExistsError extends Error {
  override readonly name = 'AlreadyExistsError';
  constructor(readonly key: string) {
    super(`already exists: ${key}`);
  }
}
