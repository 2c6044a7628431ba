// One volume through the library (VolumeEngine + VolumeWorker) with config overrides; prints one JSON line:
// engine start, pages/s, batch fill, the resolved pool sizes, process CPU core-seconds a page (on CUDA
// nearly all of it is outside the model), the byte model's sha256 and the stages.
//   node drive.js <input dir> <output dir> '<config JSON>' [default|tiny]      (RX_APP: the app, default /tmp/rx/app)
const app = process.env.RX_APP || '/tmp/rx/app';
const rx = require(`${app}/dist/src/index.js`);
const [input, output, json, model = 'default'] = process.argv.slice(2);
const over = JSON.parse(json || '{}');
(async () => {
  const cfg = rx.resolveConfig({ input, output, ...over });
  const adapter = model === 'tiny' ? rx.tinyAdapter(cfg) : rx.defaultAdapter(cfg);
  const e0 = Date.now();
  const engine = await rx.VolumeEngine.create(cfg, adapter);
  const engineSec = (Date.now() - e0) / 1000;
  const worker = new rx.VolumeWorker(cfg, undefined, 'vol', undefined, { engine });
  let last; worker.stats$.subscribe((s) => (last = s));
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  const res = await worker.run();
  const sec = (Date.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await engine.close();
  const pools = ['device', 'inferWorkers', 'batchesInFlight', 'batchSize', 'analysisWorkers', 'decodeWorkers', 'transformWorkers', 'inflightPages', 'batcherSlots'];
  console.log(JSON.stringify({
    model, over, config: Object.fromEntries(pools.map((k) => [k, cfg[k]])), device: engine.batcher.device, modelSha256: engine.adapter.sha256,
    engineSec, pages: res.pages, ok: res.ok, errors: res.errors, sec, pagesPerSec: +(res.pages / sec).toFixed(2),
    cpuCoreSecondsPerPage: +((cpu.user + cpu.system) / 1e6 / res.pages).toFixed(3), coreUse: +((cpu.user + cpu.system) / 1e6 / sec / require('node:os').availableParallelism()).toFixed(3),
    batchFill: last && last.batchFill, batches: last && last.batches, stages: last && last.stages,
  }));
  process.exit(0);
})().catch((e) => { console.log(JSON.stringify({ model, over, error: String((e && e.stack) || e).slice(0, 900) })); process.exit(1); });
