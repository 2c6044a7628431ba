import { createWriteStream } from 'node:fs';
import { link, mkdir, open, readFile, readdir, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { Stats } from 'node:fs';
import { AlreadyExistsError, EtagMismatchError, NotFoundError } from './errors';
import type { Location, ObjectBytes, ObjectEntry, SignalOption, StagedWrite } from './location';

/**
 * A local directory as a Location. Keys are `/`-separated paths relative to the root.
 *
 * ETag: `"<size hex>-<mtime µs hex>"` of the file — cheap to list (no hashing), stable while the
 * file is unchanged, and different after any rewrite that changes its size or modification time.
 * `get` compares it against the open file's own stat, so a file replaced after listing is caught.
 */
export class LocalLocation implements Location {
  readonly kind = 'local' as const;
  readonly root: string;

  constructor(readonly url: string) {
    this.root = resolve(url);
  }

  child(prefix: string): LocalLocation {
    return new LocalLocation(join(this.root, prefix));
  }

  /** Walks the tree depth-first, names sorted, one directory read at a time. */
  async *list(opts: { pageSize: number } & SignalOption): AsyncIterable<ObjectEntry[]> {
    let page: ObjectEntry[] = [];
    for await (const entry of this.walk(this.root, opts.signal)) {
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
      const etag = localEtag(await file.stat({ bigint: false }));
      if (opts.etag !== undefined && etag !== opts.etag) throw new EtagMismatchError(key, opts.etag, etag);
      const bytes = await file.readFile({ signal: opts.signal });
      return { bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), etag };
    } finally {
      await file.close();
    }
  }

  async write(key: string, opts: SignalOption = {}): Promise<StagedWrite> {
    const path = this.path(key);
    await mkdir(dirname(path), { recursive: true });
    const stream = createWriteStream(path, { flags: 'w', signal: opts.signal });
    const closed = new Promise<void>((res, rej) => {
      stream.once('close', res);
      stream.once('error', rej);
    });
    closed.catch(() => undefined);
    return {
      stream,
      finish: async () => {
        if (!stream.writableEnded) stream.end();
        await closed;
        const info = await stat(path);
        return { bytes: info.size, etag: localEtag(info) };
      },
      abort: async () => {
        stream.destroy();
        await closed.catch(() => undefined);
        await rm(path, { force: true });
      },
    };
  }

  async adopt(source: Location, sourceKey: string, key: string): Promise<{ bytes: number; etag: string }> {
    if (!(source instanceof LocalLocation)) throw new Error(`cannot publish from ${source.url} to ${this.url}: staging and output must both be local`);
    const to = this.path(key);
    await mkdir(dirname(to), { recursive: true });
    await rename(source.path(sourceKey), to);
    const info = await stat(to);
    return { bytes: info.size, etag: localEtag(info) };
  }

  /** Writes a temporary file and links it into place (`exclusive`: link fails if the key exists) or renames it. */
  async putText(key: string, text: string, opts: { exclusive?: boolean } & SignalOption = {}): Promise<void> {
    const to = this.path(key);
    await mkdir(dirname(to), { recursive: true });
    const tmp = `${to}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(tmp, text, { signal: opts.signal, flush: true });
    try {
      if (!opts.exclusive) return await rename(tmp, to);
      await link(tmp, to).catch((err: NodeJS.ErrnoException) => {
        throw err.code === 'EEXIST' ? new AlreadyExistsError(key) : err;
      });
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async readText(key: string): Promise<string | undefined> {
    try {
      return await readFile(this.path(key), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** Removes the file, then its parent directories up to the root while they are empty (as S3 has no directories). */
  async delete(key: string): Promise<void> {
    const path = this.path(key);
    await rm(path, { force: true });
    for (let dir = dirname(path); dir.startsWith(this.root + sep); dir = dirname(dir)) {
      const removed = await rmdir(dir).then(() => true, () => false);
      if (!removed) break;
    }
  }

  /** The file of `key`; refuses keys that leave the root. */
  path(key: string): string {
    const full = resolve(this.root, key);
    if (full !== this.root && !full.startsWith(this.root + sep)) throw new Error(`key leaves ${this.root}: ${key}`);
    return full;
  }

  private async *walk(dir: string, signal?: AbortSignal): AsyncGenerator<ObjectEntry> {
    signal?.throwIfAborted();
    const names = await readdir(dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' && dir === this.root) return [];
      throw err;
    });
    names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const d of names) {
      const full = join(dir, d.name);
      if (d.isDirectory()) yield* this.walk(full, signal);
      else if (d.isFile()) {
        const info = await stat(full);
        yield { key: relative(this.root, full).split(sep).join('/'), etag: localEtag(info), size: info.size };
      }
    }
  }
}

/** See the class comment. */
export function localEtag(info: Stats): string {
  return `"${info.size.toString(16)}-${Math.round(info.mtimeMs * 1000).toString(16)}"`;
}
