import type { Writable } from 'node:stream';

/** One object (file) under a location; `key` is relative to the location's root. */
export interface ObjectEntry {
  key: string;
  etag: string;
  size: number;
  /** Set when the entry was listed but cannot be read as a file (vanished, a FIFO, a name too long): the reason. */
  error?: string;
}

/** Only-if conditions of a write: `ifNoneMatch` = the key must not exist, `ifMatch` = its ETag must still be this. */
export interface WriteCondition {
  ifNoneMatch?: true;
  ifMatch?: string;
}

/** The bytes of an object and the ETag they were read at. */
export interface ObjectBytes {
  bytes: Uint8Array;
  etag: string;
}

/** An object being written: write to `stream`, then `finish()` or `abort()` (exactly one). */
export interface StagedWrite {
  stream: Writable;
  /** Ends the stream and waits until the object is stored. */
  finish(): Promise<{ bytes: number; etag: string }>;
  /** Stops writing and removes whatever was stored of it. */
  abort(): Promise<void>;
}

export interface SignalOption {
  signal?: AbortSignal;
}

/**
 * Where a volume's inputs are read from or its table is published to: an S3 prefix or a local
 * directory. The pipeline only talks to this interface.
 */
export interface Location {
  /** The URL or path it was opened with. */
  readonly url: string;
  readonly kind: 's3' | 'local';
  /** The entries under the root, one page per step; the next page is read only when pulled. */
  list(opts: { pageSize: number } & SignalOption): AsyncIterable<ObjectEntry[]>;
  /** An object's bytes; throws `NotFoundError`, or `EtagMismatchError` when `etag` is given and differs. */
  get(key: string, opts?: { etag?: string } & SignalOption): Promise<ObjectBytes>;
  /** Starts writing an object as a stream (multipart upload / file). */
  write(key: string, opts?: SignalOption): Promise<StagedWrite>;
  /**
   * Puts `sourceKey` of `source` (a location of the same kind) at `key` here: a server-side copy on
   * S3 (the source stays), a rename on local disk (the source is gone).
   */
  adopt(source: Location, sourceKey: string, key: string, opts?: SignalOption): Promise<{ bytes: number; etag: string }>;
  /**
   * Copies `sourceKey` of `source` (a location of the same kind) to `key` here, the source staying:
   * a server-side CopyObject on S3 (If-Match `etag` when given), a file copy renamed into place
   * locally (the source's ETag checked when given). A reader never sees a partial copy.
   */
  copy(source: Location, sourceKey: string, key: string, opts?: { etag?: string } & SignalOption): Promise<{ bytes: number; etag: string }>;
  /** Writes a whole object from bytes, atomically (a reader sees no object or all of it). */
  putBytes(key: string, bytes: Uint8Array, opts?: { contentType?: string } & SignalOption): Promise<{ bytes: number; etag: string }>;
  /**
   * Writes a small text object atomically (a reader sees the old or the new text, never a mix). A
   * `WriteCondition` the store can enforce that fails throws `WriteConflictError`; see each store.
   */
  putText(key: string, text: string, opts?: WriteCondition & SignalOption): Promise<void>;
  /** A small text object and its ETag, or undefined when there is none. */
  readText(key: string, opts?: SignalOption): Promise<{ text: string; etag: string } | undefined>;
  /** The size and ETag of an object, or undefined when it is not there. */
  head(key: string, opts?: SignalOption): Promise<{ bytes: number; etag: string } | undefined>;
  /** Removes an object; no error when it is not there. */
  delete(key: string, opts?: SignalOption): Promise<void>;
  /** A location for the sub-prefix/sub-directory `prefix` (no leading or trailing slash needed). */
  child(prefix: string): Location;
}
