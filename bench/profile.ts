/**
 * One pipeline run to profile: `node --cpu-prof --cpu-prof-dir=prof dist/bench/profile.js [pages] [tiny|default]`
 * writes a .cpuprofile for the main thread and one per worker thread; `node dist/bench/topSelf.js prof`
 * lists their top self-time functions.
 */
import { openLocation, resolveConfig, defaultAdapter, tinyAdapter, VolumeEngine } from '../src';
import { startBenchS3, writeBenchVolume } from './fixture';
import { runPipeline } from './pipeline';
import { round } from './summary';

async function main(): Promise<void> {
  const pages = Number(process.argv[2] ?? 24);
  const model = process.argv[3] ?? 'tiny';
  const bench = await startBenchS3();
  try {
    const cfg = resolveConfig({ input: 's3://scans/profile/', output: 's3://tables/profile/' });
    await writeBenchVolume(openLocation(cfg.input, bench.s3), pages);
    const engine = await VolumeEngine.create(cfg, model === 'default' ? defaultAdapter(cfg) : tinyAdapter(cfg));
    try {
      const run = await runPipeline(engine, cfg, bench.s3, 'profile');
      console.log(JSON.stringify({ pages, model, seconds: round(run.seconds), pagesPerSec: round(run.pagesPerSec) }));
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
