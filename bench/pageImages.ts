/**
 * Issue 16's figures for the page images: a volume of A4 pages at 300 dpi (2480×3508 JPEG q90:
 * straight, deskewed, turned and curled pages in turn) run from a folder to a folder, each case in
 * a fresh process: 16 pages with the default model without images and with `images: 'jpeg'`
 * (pages/s both ways, the CPU seconds a page's image costs, the share of the wall time the model
 * is busy), and 50 vs 200 pages with PNG images on the tiny model (peak RSS: the image step's
 * memory must not grow with the volume; the tiny model corrects nothing, PNG makes every page go
 * through the full-resolution path all the same), each volume twice: as the process starts by
 * default, and with glibc's mmap threshold fixed (`MMAP_THRESHOLD_ENV`, what README's page-images
 * section advises for long runs). Prints one JSON object.
 * Run: `npx tsc -p . && node dist/bench/pageImages.js [--quick]` (`--quick`: 8 / 20 / 60 pages).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { resolveConfig, type ImagesSetting } from '../src';
import { renderSyntheticPage, type PageSpec } from '../src/synth/pages';
import { VolumeWorker } from '../src/worker';
import { scriptFlags } from './args';
import { runMain } from './fixture';

const [A4_WIDTH, A4_HEIGHT] = [2480, 3508];
const MB = 1024 * 1024;
const KINDS: PageSpec[] = [{ seed: 1 }, { seed: 2, skewDeg: 3.5 }, { seed: 3, rotate: 90 }, { seed: 4, skewDeg: -2, curlPx: 40 }];

/**
 * glibc keeps freed page rasters (26–30 MB, under its dynamic mmap threshold's 32 MB cap) in its
 * heaps; a threshold fixed at 4 MB returns them to the system (README, "Page images"). glibc reads
 * it only at process start, so it is the child's environment.
 */
const MMAP_THRESHOLD_ENV = { MALLOC_MMAP_THRESHOLD_: '4194304' };

interface Case {
  name: string;
  pages: number;
  images: ImagesSetting;
  model: 'default' | 'tiny';
  /** Environment set for the case's process beyond the bench's own (`MALLOC_MMAP_THRESHOLD_` removed unless set here). */
  env: Record<string, string>;
}

interface CaseFigure extends Case {
  seconds: number;
  pagesPerSecond: number;
  /** User + system CPU of the whole process (every thread), per page. */
  cpuSecondsPerPage: number;
  /** Highest RSS sampled every 50 ms, and the kernel's high-water mark. */
  peakRssMb: number;
  vmHwmMb: number;
  /** The inference stage's busy time over the run's wall time. */
  modelBusyShare: number;
  /** Median time of a page's GET (`fetch_ms`): what fetching an original again for its image costs. */
  fetchMsMedian: number;
  /** Median size of an original, MB: what keeping it through the analysis would hold per page in flight. */
  originalMbMedian: number;
  transformed: { rotate: number; tps: number };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const round = (v: number, digits = 2) => Math.round(v * 10 ** digits) / 10 ** digits;
const vmHwmMb = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? NaN) / 1024;

/** One case in this process. */
async function child(c: Case, input: string, output: string): Promise<CaseFigure> {
  const cfg = resolveConfig({ input, output, images: c.images, ...(c.model === 'tiny' ? { model: 'tiny' } : {}) });
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  const [cpu0, wall0] = [process.cpuUsage(), performance.now()];
  const worker = new VolumeWorker(cfg, undefined, 'vol');
  const fetchMs: number[] = [];
  worker.pages$.subscribe((page) => fetchMs.push(page.record.fetch_ms));
  const result = await worker.run();
  const seconds = (performance.now() - wall0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(sampler);
  const infer = worker.snapshot().stages.find((s) => s.stage === 'infer');
  return {
    ...c,
    seconds: round(seconds),
    pagesPerSecond: round(result.pages / seconds, 3),
    cpuSecondsPerPage: round((cpu.user + cpu.system) / 1e6 / result.pages),
    peakRssMb: Math.round(Math.max(peak, process.memoryUsage().rss) / MB),
    vmHwmMb: Math.round(vmHwmMb()),
    modelBusyShare: round((infer?.busyMs ?? 0) / 1000 / seconds),
    fetchMsMedian: round(median(fetchMs)),
    originalMbMedian: round(median(readdirSync(input).map((f) => statSync(join(input, f)).size / MB))),
    transformed: result.transformed,
  };
}

/** The A4 page of a kind, as a scanner would give it (300 dpi in its metadata). */
async function a4Page(spec: PageSpec): Promise<Buffer> {
  const rendered = sharp(await renderSyntheticPage({ ...spec, width: A4_WIDTH, height: A4_HEIGHT, format: 'png' }));
  const { width = 0, height = 0 } = await rendered.metadata();
  const [w, h] = spec.rotate === 90 ? [A4_HEIGHT, A4_WIDTH] : [A4_WIDTH, A4_HEIGHT];
  const a4 = rendered.extract({ left: Math.floor((width - w) / 2), top: Math.floor((height - h) / 2), width: w, height: h });
  return a4.withMetadata({ density: 300 }).jpeg({ quality: 90 }).toBuffer();
}

async function main(): Promise<void> {
  if (process.argv[2] === 'child') {
    console.log(JSON.stringify(await child(JSON.parse(process.argv[3]) as Case, process.argv[4], process.argv[5])));
    return;
  }
  const quick = scriptFlags('pageImages', [{ name: 'quick', kind: 'bool', help: 'smaller volumes: 8 / 20 / 60 pages instead of 16 / 50 / 200' }]).bool('quick');
  const [small, fewer, more] = quick ? [8, 20, 60] : [16, 50, 200];
  const memoryCases = (env: Record<string, string>, label: string): Case[] =>
    [fewer, more].map((pages) => ({ name: `tiny model, --images png, ${pages} pages${label}`, pages, images: 'png', model: 'tiny', env }));
  const cases: Case[] = [
    { name: 'default model, no images', pages: small, images: 'off', model: 'default', env: {} },
    { name: 'default model, --images jpeg', pages: small, images: 'jpeg', model: 'default', env: {} },
    // The tiny model corrects nothing: PNG output makes every page go through the full-resolution decode and encode.
    ...memoryCases({}, ''),
    ...memoryCases(MMAP_THRESHOLD_ENV, ', MALLOC_MMAP_THRESHOLD_=4194304'),
  ];
  const dir = mkdtempSync(join(tmpdir(), 'rxvolume-bench-images-'));
  try {
    const kinds = await Promise.all(KINDS.map(a4Page));
    const kindFiles = kinds.map((bytes, i) => {
      const file = join(dir, `kind-${i}.jpg`);
      writeFileSync(file, bytes);
      return file;
    });
    const figures: CaseFigure[] = [];
    for (const [i, c] of cases.entries()) {
      const input = join(dir, `in-${i}`, 'vol');
      mkdirSync(input, { recursive: true });
      for (let p = 0; p < c.pages; p++) copyFileSync(kindFiles[p % kindFiles.length], join(input, `p${String(p).padStart(4, '0')}.jpg`));
      const output = join(dir, `out-${i}`);
      const { MALLOC_MMAP_THRESHOLD_: _, ...env } = process.env;
      const out = execFileSync(process.execPath, [__filename, 'child', JSON.stringify(c), input, output], { encoding: 'utf8', maxBuffer: 64 * MB, env: { ...env, ...c.env } });
      figures.push(JSON.parse(out.trim().split('\n').pop() as string) as CaseFigure);
      rmSync(join(dir, `in-${i}`), { recursive: true, force: true });
      rmSync(output, { recursive: true, force: true });
    }
    const [off, on, fewerFig, moreFig, fewerFixed, moreFixed] = figures;
    console.log(
      JSON.stringify(
        {
          page: `${A4_WIDTH}×${A4_HEIGHT} JPEG q90, 300 dpi`,
          cores: cpus().length,
          loadavg: loadavg().map((l) => round(l)),
          node: process.version,
          figures,
          imageSlowdown: round(1 - on.pagesPerSecond / off.pagesPerSecond),
          imageCpuSecondsPerPage: round(on.cpuSecondsPerPage - off.cpuSecondsPerPage),
          peakRssRatio: round(moreFig.peakRssMb / fewerFig.peakRssMb),
          peakRssRatioMmapThreshold: round(moreFixed.peakRssMb / fewerFixed.peakRssMb),
        },
        null,
        2,
      ),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

runMain(main);
