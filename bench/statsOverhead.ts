/**
 * The cost of watching a run: one volume (tiny model, small pages) with `worker.stats$` subscribed
 * the way the CLI's progress bar does, reporting the main thread's event-loop delay and the wall
 * time. `node dist/bench/statsOverhead.js [--pages N]`.
 */
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { resolveConfig, tinyAdapter } from '../src';
import { VolumeWorker } from '../src/worker';
import { scriptFlags } from './args';
import { runMain, withBenchVolume } from './fixture';
import { round } from './summary';

async function main(): Promise<void> {
  const f = scriptFlags('statsOverhead', [{ name: 'pages', kind: 'int', value: '<n>', help: 'pages of the watched volume (default 1000)' }]);
  const pages = f.int('pages') ?? 1000;
  const cfg = resolveConfig({ input: 's3://scans/watched/', output: 's3://tables/watched/' });
  await withBenchVolume(cfg, tinyAdapter(cfg), { pages, size: 'small' }, async (engine, s3) => {
    const worker = new VolumeWorker(cfg, s3, 'watched', undefined, { engine, skipIfPublished: false });
    let snapshots = 0;
    worker.stats$.subscribe(() => snapshots++);
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const started = performance.now();
    const result = await worker.run();
    delay.disable();
    const ms = (ns: number) => round(ns / 1e6, 1);
    console.log(JSON.stringify({
      pages: result.pages,
      seconds: round((performance.now() - started) / 1000),
      snapshots,
      eventLoopDelayMs: { p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max) },
      load: round(loadavg()[0]),
    }));
  });
}

runMain(main);
