import type { Location } from '../store';

/**
 * The volumes under an input location: the first path segment of every key below a sub-prefix
 * (sub-directory), in listing order, each once. Lists one page at a time, yielding a volume as soon
 * as it is seen. Keys directly under the root, and names starting with `_` or `.` (staging,
 * markers, hidden files), are not volumes.
 */
export async function* listVolumeIds(input: Location, opts: { pageSize: number; signal?: AbortSignal }): AsyncGenerator<string> {
  const seen = new Set<string>();
  for await (const page of input.list(opts)) {
    for (const { key } of page) {
      const slash = key.indexOf('/');
      if (slash <= 0) continue;
      const id = key.slice(0, slash);
      if (seen.has(id) || id.startsWith('_') || id.startsWith('.')) continue;
      seen.add(id);
      yield id;
    }
  }
}
