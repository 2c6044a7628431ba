/**
 * Child process of the memory figure: runs one volume at the default settings with the job's model
 * in a fresh process and prints `{ pages, seconds, peakRssMb, vmHwmMb }` as its last line.
 * Argument: a JSON `MemoryJob`.
 */
import { readFileSync } from 'node:fs';
import { S3Context, resolveConfig } from '../src';
import { s3ClientConfigFor } from '../src/demo';
import { VolumeWorker } from '../src/worker';
import { laneFigures, type LaneFigure } from './summary';
import { runMain } from './fixture';

export interface MemoryJob {
  endpoint: string;
  input: string;
  output: string;
  volumeId: string;
  model: 'tiny' | 'default';
}

export interface MemoryFigure {
  pages: number;
  seconds: number;
  /** Highest `process.memoryUsage().rss` sampled every 50 ms. */
  peakRssMb: number;
  /** The kernel's high-water mark of resident memory (/proc/self/status VmHWM). */
  vmHwmMb: number;
  /** The weighted merge's per-lane waits, and how full the batches were, over this bigger volume. */
  lanes: LaneFigure[];
  batchFill: number;
}

const SAMPLE_MS = 50;
const MB = 1024 * 1024;

function vmHwmMb(): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2]) as MemoryJob;
  const cfg = resolveConfig({ input: job.input, output: job.output, model: job.model });
  const s3 = new S3Context(s3ClientConfigFor(job.endpoint));
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), SAMPLE_MS);
  try {
    const worker = new VolumeWorker(cfg, s3, job.volumeId, undefined, { skipIfPublished: false });
    const result = await worker.run();
    peak = Math.max(peak, process.memoryUsage().rss);
    const stats = worker.snapshot();
    const figure: MemoryFigure = {
      pages: result.pages,
      seconds: result.seconds,
      peakRssMb: peak / MB,
      vmHwmMb: vmHwmMb(),
      lanes: laneFigures(stats),
      batchFill: stats.batchFill,
    };
    console.log(JSON.stringify(figure));
  } finally {
    clearInterval(sampler);
    s3.client.destroy();
  }
}

runMain(main);
