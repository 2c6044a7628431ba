import { S3Context, VolumeEngine, openLocation, type Location, type ModelAdapter, type PipelineConfig } from '../src';
import { s3ClientConfigFor, startLocalS3Server } from '../src/demo';
import { corruptJpeg, demoPages } from '../src/demoVolume';
import type { LocalS3Server } from '../src/s3/localS3Server';
import { renderSyntheticPage } from '../src/synth/pages';
import { UsageError } from '../src/cli/args';

/** s3rver on loopback with an input and an output bucket, and a context for it. */
export interface BenchS3 {
  server: LocalS3Server;
  s3: S3Context;
  stop(): Promise<void>;
}

export async function startBenchS3(): Promise<BenchS3> {
  const server = await startLocalS3Server({ buckets: ['scans', 'tables'] });
  const s3 = new S3Context({ ...s3ClientConfigFor(server.endpoint), maxInflightGlobal: 64 });
  return {
    server,
    s3,
    stop: async () => {
      s3.client.destroy();
      await server.stop();
    },
  };
}

/** Distinct pages rendered; bigger volumes repeat them under new keys (rendering costs ~0.3 s a page). */
const DISTINCT_PAGES = 24;
const UPLOAD_CONCURRENCY = 8;

/** Page size of a bench volume: `full` is the demo's A4 at 150 dpi (1240×1754, 12 patches); `small` is 310×438 (1 patch). */
export type PageSize = 'full' | 'small';
const SMALL = { width: 310, height: 438 };

/** Rendered bytes of the demo mix, cached per process and size: page i of a volume is `bytes[i % DISTINCT_PAGES]`. */
const rendered = new Map<PageSize, Promise<Uint8Array[]>>();
function distinctPages(size: PageSize): Promise<Uint8Array[]> {
  let pages = rendered.get(size);
  if (!pages) {
    const specs = demoPages(DISTINCT_PAGES).map((p) => p.spec && (size === 'small' ? { ...p.spec, ...SMALL } : p.spec));
    pages = Promise.all(specs.map((spec) => (spec ? renderSyntheticPage(spec) : Promise.resolve(corruptJpeg()))));
    rendered.set(size, pages);
  }
  return pages;
}

async function put(location: Location, key: string, bytes: Uint8Array): Promise<void> {
  const staged = await location.write(key);
  await new Promise<void>((resolve, reject) => staged.stream.write(bytes, (err) => (err ? reject(err) : resolve())));
  await staged.finish();
}

/**
 * Writes an `n`-page volume of the demo mix (straight, skewed, turned, curled, one corrupt page
 * in 24) of `size` under `location`, `page-00000.jpg` onwards.
 */
export async function writeBenchVolume(location: Location, n: number, size: PageSize = 'full'): Promise<void> {
  const pages = await distinctPages(size);
  let next = 0;
  const uploader = async () => {
    for (let i = next++; i < n; i = next++) await put(location, `page-${String(i).padStart(5, '0')}.jpg`, pages[i % pages.length]);
  };
  await Promise.all(Array.from({ length: UPLOAD_CONCURRENCY }, uploader));
}

/**
 * Starts the bench's S3, writes a volume of `pages` pages at `cfg.input`, starts an engine on
 * `adapter`, runs `body` with them, and stops both whatever happens.
 */
export async function withBenchVolume<T>(
  cfg: PipelineConfig,
  adapter: ModelAdapter,
  volume: { pages: number; size?: PageSize },
  body: (engine: VolumeEngine, s3: S3Context) => Promise<T>,
): Promise<T> {
  const bench = await startBenchS3();
  try {
    await writeBenchVolume(openLocation(cfg.input, bench.s3), volume.pages, volume.size);
    const engine = await VolumeEngine.create(cfg, adapter);
    try {
      return await body(engine, bench.s3);
    } finally {
      await engine.close();
    }
  } finally {
    await bench.stop();
  }
}

/** Runs a bench entry point: an error is printed and sets exit code 1 (a bad flag's UsageError: its message, exit code 2). */
export function runMain(main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    console.error(err instanceof UsageError ? err.message : err);
    process.exitCode = err instanceof UsageError ? 2 : 1;
  });
}
