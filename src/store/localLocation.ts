import type { Writable } from 'node:stream';
import { copyFile, link, mkdir, open, readFile, readdir, realpath, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { statSync, type Stats } from 'node:fs';
import { EtagMismatchError, InputMissingError, NotFoundError, WriteConflictError } from './errors';
import type { Location, ObjectBytes, ObjectEntry, SignalOption, StagedWrite, WriteCondition } from './location';
import { OWNER_TOKEN, ownToken, provablyDead, type OwnerToken } from './owner';

/**
 * A local directory as a Location. Keys are `/`-separated paths relative to the root.
 *
 * ETag: `"<size hex>-<mtime µs hex>"` of the file — cheap to list (no hashing), stable while the
 * file is unchanged, and different after any rewrite that changes its size or modification time.
 * `get` compares it against the open file's own stat, so a file replaced after listing is caught.
 *
 * Listing follows symbolic links (to files and to folders; a folder reached twice, e.g. by a link
 * loop, is walked once). What cannot be read as a regular file — a FIFO, a socket, a device, a file
 * that vanished between `readdir` and `stat`, a name too long for the system — is listed with an
 * `error` (a folder that cannot be read, or an entry that cannot be told from one, is listed as
 * `dir/` with its error).
 *
 * Deleting a file removes the folders it leaves empty, up to and including the root of the
 * location first opened (S3 has no folders; `child` locations share that root), but never that root
 * when it was there already (someone's own folder, e.g. an output folder made before the run); the
 * writes that create folders redo it when a concurrent delete removed one first.
 */
export class LocalLocation implements Location {
  readonly kind = 'local' as const;
  readonly root: string;
  /** The root of the location first opened, where deletes stop, and whether it was there then. */
  private readonly top: { root: string; wasThere: boolean };

  constructor(readonly url: string, top?: { root: string; wasThere: boolean }) {
    this.root = resolve(url);
    this.top = top ?? { root: this.root, wasThere: statSync(this.root, { throwIfNoEntry: false })?.isDirectory() === true };
  }

  child(prefix: string): LocalLocation {
    return new LocalLocation(join(this.root, prefix), this.top);
  }

  /** Walks the tree depth-first, names sorted, one directory read at a time. Throws `InputMissingError` when the root is not a folder. */
  async *list(opts: { pageSize: number } & SignalOption): AsyncIterable<ObjectEntry[]> {
    let page: ObjectEntry[] = [];
    const seen = new Set<string>();
    for await (const entry of this.walk(this.root, seen, opts.signal)) {
      page.push(entry);
      if (page.length >= opts.pageSize) {
        yield page;
        page = [];
      }
    }
    if (page.length > 0) yield page;
  }

  async get(key: string, opts: { etag?: string } & SignalOption = {}): Promise<ObjectBytes> {
    opts.signal?.throwIfAborted();
    const file = await open(this.path(key), 'r').catch((err: NodeJS.ErrnoException) => {
      throw err.code === 'ENOENT' ? new NotFoundError(key) : err;
    });
    try {
      const info = await file.stat({ bigint: false });
      if (!info.isFile()) throw new Error(`${key} is not a regular file`);
      const etag = localEtag(info);
      if (opts.etag !== undefined && etag !== opts.etag) throw new EtagMismatchError(key, opts.etag, etag);
      const bytes = await file.readFile({ signal: opts.signal });
      return { bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), etag };
    } finally {
      await file.close();
    }
  }

  async write(key: string, opts: SignalOption = {}): Promise<StagedWrite> {
    const path = this.path(key);
    const handle = await inFolder(path, () => open(path, 'w'));
    const stream: Writable = handle.createWriteStream();
    const closed = new Promise<void>((res, rej) => {
      stream.once('close', res);
      stream.once('error', rej);
    });
    closed.catch(() => undefined);
    const onAbort = () => stream.destroy(opts.signal?.reason as Error);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    return {
      stream,
      finish: async () => {
        if (!stream.writableEnded) stream.end();
        await closed;
        opts.signal?.removeEventListener('abort', onAbort);
        const info = await stat(path);
        return { bytes: info.size, etag: localEtag(info) };
      },
      abort: async () => {
        opts.signal?.removeEventListener('abort', onAbort);
        stream.destroy();
        await closed.catch(() => undefined);
        await this.delete(key);
      },
    };
  }

  async adopt(source: Location, sourceKey: string, key: string): Promise<{ bytes: number; etag: string }> {
    if (!(source instanceof LocalLocation)) throw new Error(`cannot publish from ${source.url} to ${this.url}: staging and output must both be local`);
    const to = this.path(key);
    await inFolder(to, () => rename(source.path(sourceKey), to));
    const info = await stat(to);
    return { bytes: info.size, etag: localEtag(info) };
  }

  async copy(source: Location, sourceKey: string, key: string, opts: { etag?: string } & SignalOption = {}): Promise<{ bytes: number; etag: string }> {
    if (!(source instanceof LocalLocation)) throw new Error(`cannot copy from ${source.url} to ${this.url}: both must be local`);
    opts.signal?.throwIfAborted();
    const from = source.path(sourceKey);
    if (opts.etag !== undefined) {
      const head = await source.head(sourceKey);
      if (head === undefined) throw new NotFoundError(sourceKey);
      if (head.etag !== opts.etag) throw new EtagMismatchError(sourceKey, opts.etag, head.etag);
    }
    return this.intoPlace(key, (tmp) => copyFile(from, tmp).catch((err: NodeJS.ErrnoException) => {
      throw err.code === 'ENOENT' ? new NotFoundError(sourceKey) : err;
    }));
  }

  async putBytes(key: string, bytes: Uint8Array, opts: SignalOption = {}): Promise<{ bytes: number; etag: string }> {
    return this.intoPlace(key, (tmp) => writeFile(tmp, bytes, { signal: opts.signal }));
  }

  /** Makes a temporary file beside `key` with `fill`, then renames it into place (atomic); the temporary file never stays. */
  private async intoPlace(key: string, fill: (tmp: string) => Promise<void>): Promise<{ bytes: number; etag: string }> {
    const to = this.path(key);
    const tmp = tempBeside(to);
    try {
      await inFolder(tmp, () => fill(tmp));
      await inFolder(to, () => rename(tmp, to));
      const info = await stat(to);
      return { bytes: info.size, etag: localEtag(info) };
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /**
   * Writes a temporary file, then links it into place (`ifNoneMatch`: the link fails if the key
   * exists, atomically) or renames it over the old one. With `ifMatch` the ETag check and the rename
   * run holding the key's lock (`holdingLock`), so of writers that read the same ETag only one
   * replaces the file, in this process or another.
   */
  async putText(key: string, text: string, opts: WriteCondition & SignalOption = {}): Promise<void> {
    const to = this.path(key);
    const tmp = tempBeside(to);
    await inFolder(tmp, () => writeFile(tmp, text, { signal: opts.signal, flush: true }));
    try {
      if (opts.ifNoneMatch) {
        await link(tmp, to).catch((err: NodeJS.ErrnoException) => {
          throw err.code === 'EEXIST' ? new WriteConflictError(key) : err;
        });
      } else if (opts.ifMatch !== undefined) {
        await holdingLock(to, async () => {
          if ((await this.head(key))?.etag !== opts.ifMatch) throw new WriteConflictError(key);
          await rename(tmp, to);
        });
      } else {
        await rename(tmp, to);
      }
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async readText(key: string): Promise<{ text: string; etag: string } | undefined> {
    try {
      const { bytes, etag } = await this.get(key);
      return { text: Buffer.from(bytes).toString('utf8'), etag };
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }

  async head(key: string): Promise<{ bytes: number; etag: string } | undefined> {
    try {
      const info = await stat(this.path(key));
      return info.isFile() ? { bytes: info.size, etag: localEtag(info) } : undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** Removes the file, then its folders while they are empty (as S3 has no folders), up to the first-opened root (see the class). */
  async delete(key: string): Promise<void> {
    const path = this.path(key);
    await rm(path, { force: true });
    const top = this.top.root;
    for (let dir = dirname(path); dir === top || dir.startsWith(top + sep); dir = dirname(dir)) {
      if (dir === top && this.top.wasThere) break;
      const removed = await rmdir(dir).then(() => true, () => false);
      if (!removed || dir === top) break;
    }
  }

  /** The file of `key`; refuses keys that leave the root. */
  path(key: string): string {
    const full = resolve(this.root, key);
    if (full !== this.root && !full.startsWith(this.root + sep)) throw new Error(`key leaves ${this.root}: ${key}`);
    return full;
  }

  private keyOf(path: string): string {
    return relative(this.root, path).split(sep).join('/');
  }

  private async *walk(dir: string, seen: Set<string>, signal?: AbortSignal): AsyncGenerator<ObjectEntry> {
    signal?.throwIfAborted();
    const real = await realpath(dir).catch(() => dir);
    if (seen.has(real)) return;
    seen.add(real);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (dir === this.root) {
        if (code === 'ENOENT') throw new InputMissingError(this.url);
        if (code === 'ENOTDIR') throw new InputMissingError(this.url, 'is not a folder');
        throw err;
      }
      yield { key: `${this.keyOf(dir)}/`, etag: '', size: 0, error: `cannot read the folder: ${reason(err)}` };
      return;
    }
    names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const name of names) {
      const full = join(dir, name);
      const key = this.keyOf(full);
      let info: Stats;
      try {
        info = await stat(full);
      } catch (err) {
        // A vanished entry was a file (or a link) when listed; one that cannot be looked at (name too long, no access) may be a folder of pages.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') yield { key, etag: '', size: 0, error: 'vanished while the volume was listed (or a broken link)' };
        else yield { key: `${key}/`, etag: '', size: 0, error: `cannot read: ${reason(err)}` };
        continue;
      }
      if (info.isDirectory()) yield* this.walk(full, seen, signal);
      else if (info.isFile()) yield { key, etag: localEtag(info), size: info.size };
      else yield { key, etag: '', size: 0, error: `not a regular file (${fileKind(info)})` };
    }
  }
}

/** A temporary file's name beside `path`, unique to this process and call, naming this process (see `tempOwner`). */
export function tempBeside(path: string): string {
  return `${path}.${ownToken()}.${Date.now()}.${Math.random().toString(36).slice(2)}.tmp`;
}

/** The process that made a temporary file (a name `tempBeside` gave), or undefined for any other name. */
export function tempOwner(name: string): OwnerToken | undefined {
  return new RegExp(`\\.(${OWNER_TOKEN.source})\\.\\d+\\.[a-z0-9]+\\.tmp$`).exec(name)?.[1];
}

/** A lock older than this is taken to be a holder's that died elsewhere (a holder keeps it for a stat and a rename). */
const LOCK_STALE_MS = 10_000;

/**
 * Runs `body` holding `<path>.lock`, a file created exclusively that names this process: writers
 * of `path` in this process or others on the folder's machine take turns. A lock whose process is
 * provably gone (`provablyDead`), or older than `LOCK_STALE_MS`, is removed; to remove it, it is
 * moved aside first and put back if what was moved is not the lock judged stale.
 */
async function holdingLock<T>(path: string, body: () => Promise<T>): Promise<T> {
  const lock = `${path}.lock`;
  for (let wait = 1; ; wait = Math.min(2 * wait, 64)) {
    const created = await writeFile(lock, ownToken(), { flag: 'wx' }).then(
      () => true,
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'EEXIST') return false;
        throw err;
      },
    );
    if (created) break;
    await removeStaleLock(lock);
    await new Promise((resolve) => setTimeout(resolve, wait * (0.5 + Math.random())));
  }
  try {
    return await body();
  } finally {
    await rm(lock, { force: true });
  }
}

async function removeStaleLock(lock: string): Promise<void> {
  const info = await stat(lock).catch(() => undefined);
  if (!info) return;
  const holder = await readFile(lock, 'utf8').catch(() => '');
  if (!provablyDead(holder) && Date.now() - info.mtimeMs < LOCK_STALE_MS) return;
  const aside = tempBeside(lock);
  if (!(await rename(lock, aside).then(() => true, () => false))) return;
  const moved = await stat(aside).catch(() => undefined);
  // Another writer removed the stale lock and took a new one in between: put that one back.
  if (moved && moved.ino !== info.ino) await link(aside, lock).catch(() => undefined);
  await rm(aside, { force: true });
}

/** Runs `fn` (which creates `path`) after making its folder; again when a concurrent delete removed the folder in between. */
async function inFolder<T>(path: string, fn: () => Promise<T>): Promise<T> {
  for (let tries = 1; ; tries++) {
    await makeFolder(dirname(path));
    try {
      return await fn();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || tries >= 10) throw err;
    }
  }
}

/**
 * `mkdir -p`, a folder at a time: Node's recursive mkdir reports ENOENT for a read-only file system
 * (EROFS), and never settles on one where mkdir answers ENOENT under a parent that exists (/proc, as
 * `--output /proc/x`: it retried for ever). Here a second ENOENT is the error.
 */
async function makeFolder(dir: string): Promise<void> {
  try {
    await mkdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    if (code !== 'ENOENT' || dirname(dir) === dir) throw err;
    await makeFolder(dirname(dir));
    await mkdir(dir).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    });
  }
}

function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ?? e.message;
}

function fileKind(info: Stats): string {
  if (info.isFIFO()) return 'a FIFO';
  if (info.isSocket()) return 'a socket';
  if (info.isCharacterDevice() || info.isBlockDevice()) return 'a device';
  return 'not a file';
}

/** See the class comment. */
export function localEtag(info: Stats): string {
  return `"${info.size.toString(16)}-${Math.round(info.mtimeMs * 1000).toString(16)}"`;
}
