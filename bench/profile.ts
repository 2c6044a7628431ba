/**
 * One pipeline run to profile or to try a setting: `node --cpu-prof --cpu-prof-dir=prof
 * dist/bench/profile.js [pages] [tiny|default] [config JSON, e.g. '{"batchMaxWaitMs":50}'] [runs]`
 * writes a .cpuprofile for the main thread and one per worker thread; `node dist/bench/topSelf.js prof`
 * lists their top self-time functions.
 */
import { loadavg } from 'node:os';
import { resolveConfig, modelAdapter, type PipelineConfig } from '../src';
import { runMain, withBenchVolume } from './fixture';
import { runPipeline } from './pipeline';
import { round } from './summary';

async function main(): Promise<void> {
  const pages = Number(process.argv[2] ?? 24);
  const model = process.argv[3] ?? 'tiny';
  const overrides = JSON.parse(process.argv[4] ?? '{}') as Partial<PipelineConfig>;
  const runs = Number(process.argv[5] ?? 1);
  const cfg = resolveConfig({ ...overrides, input: 's3://scans/profile/', output: 's3://tables/profile/' });
  const adapter = await modelAdapter({ ...cfg, model });
  await withBenchVolume(cfg, adapter, { pages }, async (engine, s3) => {
    for (let k = 0; k < runs; k++) {
      const run = await runPipeline(engine, cfg, s3, `profile-${k}`);
      console.log(JSON.stringify({ pages, model, overrides, seconds: round(run.seconds), pagesPerSec: round(run.pagesPerSec), batchFill: round(run.stats.batchFill), batches: run.stats.batches, load: loadavg()[0] }));
    }
  });
}

runMain(main);
