import { createHash } from 'node:crypto';

/**
 * The identity of a volume's inputs: sha256 over the lines `key\tetag\n`, sorted by key (code unit
 * order). The Prefetcher hashes the listing with it and the writer hashes its rows with it, so a
 * published marker can be matched against a fresh listing.
 */
export function manifestSha256(entries: Iterable<{ key: string; etag: string }>): string {
  const lines = Array.from(entries, (e) => `${e.key}\t${e.etag}\n`).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const hash = createHash('sha256');
  for (const line of lines) hash.update(line);
  return hash.digest('hex');
}
