/**
 * One pipeline run to profile or to try a setting: `node --cpu-prof --cpu-prof-dir=prof
 * dist/bench/profile.js [--pages N] [--model tiny|default|file.onnx] [--config '{"batchMaxWaitMs":50}'] [--runs K]`
 * writes a .cpuprofile for the main thread and one per worker thread; `node dist/bench/topSelf.js --dir prof`
 * lists their top self-time functions.
 */
import { loadavg } from 'node:os';
import { resolveConfig, modelAdapter } from '../src';
import { configJson, scriptFlags } from './args';
import { runMain, withBenchVolume } from './fixture';
import { runPipeline } from './pipeline';
import { round } from './summary';

async function main(): Promise<void> {
  const f = scriptFlags('profile', [
    { name: 'pages', kind: 'int', value: '<n>', help: 'pages of the volume (default 24)' },
    { name: 'model', kind: 'string', value: '<tiny|default|file.onnx>', help: 'the model (default tiny)' },
    { name: 'config', kind: 'string', value: '<json>', help: 'PipelineConfig fields to try, e.g. \'{"batchMaxWaitMs":50}\'' },
    { name: 'runs', kind: 'int', value: '<k>', help: 'runs over the volume, one JSON line each (default 1)' },
  ]);
  const pages = f.int('pages') ?? 24;
  const model = f.string('model') ?? 'tiny';
  const config = f.string('config');
  const overrides = config === undefined ? {} : configJson(config);
  const runs = f.int('runs') ?? 1;
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
