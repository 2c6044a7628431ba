import sharp from 'sharp';

/**
 * libvips' settings for the pool threads that run sharp (decode, transform): one libvips thread a
 * call (the pools are the parallelism) and no operation cache (every image is new; a cached
 * operation would keep its full-resolution pixels alive).
 *
 * libvips is one per process, so these are process-wide, and sharp sets its defaults (a cache of
 * 50 MB / 100 operations) whenever a thread loads it: a thread that loads sharp after another has
 * set them turns the cache back on for all. So every thread that loads sharp calls this as it
 * starts; whichever loads last, the last word is this.
 */
export function useLibvipsInPoolThreads(): void {
  sharp.concurrency(1);
  sharp.cache(false);
}
