/**
 * One pipeline run to profile or to try a setting: `node --cpu-prof --cpu-prof-dir=prof
 * dist/bench/profile.js [pages] [tiny|default] [config JSON, e.g. '{"batchMaxWaitMs":50}'] [runs]`
 * writes a .cpuprofile for the main thread and one per worker thread; `node dist/bench/topSelf.js prof`
 * lists their top self-time functions.
 */
import { loadavg } from 'node:os';
import { openLocation, resolveConfig, defaultAdapter, tinyAdapter, VolumeEngine, type PipelineConfig } from '../src';
import { startBenchS3, writeBenchVolume } from './fixture';
import { runPipeline } from './pipeline';
import { round } from './summary';

async function main(): Promise<void> {
  const pages = Number(process.argv[2] ?? 24);
  const model = process.argv[3] ?? 'tiny';
  const bench = await startBenchS3();
  try {
    const overrides = JSON.parse(process.argv[4] ?? '{}') as Partial<PipelineConfig>;
    const runs = Number(process.argv[5] ?? 1);
    const cfg = resolveConfig({ ...overrides, input: 's3://scans/profile/', output: 's3://tables/profile/' });
    await writeBenchVolume(openLocation(cfg.input, bench.s3), pages);
    const engine = await VolumeEngine.create(cfg, model === 'default' ? defaultAdapter(cfg) : tinyAdapter(cfg));
    try {
      for (let k = 0; k < runs; k++) {
        const run = await runPipeline(engine, cfg, bench.s3, `profile-${k}`);
        console.log(JSON.stringify({ pages, model, overrides, seconds: round(run.seconds), pagesPerSec: round(run.pagesPerSec), batchFill: round(run.stats.batchFill), batches: run.stats.batches, load: loadavg()[0] }));
      }
    } finally {
      await engine.close();
    }
  } finally {
    await bench.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
