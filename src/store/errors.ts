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

/** A conditional write lost: the object was created or changed by another writer since it was read. */
export class WriteConflictError extends Error {
  override readonly name = 'WriteConflictError';
  constructor(readonly key: string) {
    super(`another writer changed ${key}`);
  }
}

/** A volume's input location is not there (a folder that does not exist, a bucket that does not). */
export class InputMissingError extends Error {
  override readonly name = 'InputMissingError';
  constructor(readonly url: string, detail = 'does not exist') {
    super(`${url} ${detail}`);
  }
}
