// The model alone, as the pipeline runs it: the byte-wrapped default detector (uint8 in, uint8 out).
// 1. one session per device at several batch sizes (patches/s of 512² patches);
// 2. the bench's ModelOnly (the pipeline's inference threads, cfg defaults of DEVICE) on the real
//    pages' patches: pages/s and the CPU core-seconds a page the model itself takes.
// Prints JSON lines.   node modelonly.js <pages dir>      (RX_APP: the app; DEVICE: cuda (default) or cpu)
const app = process.env.RX_APP || '/tmp/rx/app';
const device = process.env.DEVICE || 'cuda';
const ort = require(`${app}/node_modules/onnxruntime-node`);
const rx = require(`${app}/dist/src/index.js`);
const { byteAdapter } = require(`${app}/dist/src/model/byteModel.js`);
const { decodeImage } = require(`${app}/dist/src/decode/decodeImage.js`);
const { ModelOnly } = require(`${app}/dist/bench/modelOnly.js`);
const { readdirSync, readFileSync } = require('node:fs');
const pagesDir = process.argv[2];
const seconds = Number(process.env.CURVE_SECONDS || 3);
(async () => {
  const cfg = rx.resolveConfig({ input: 'x', output: 'y', device });
  const adapter = byteAdapter(rx.defaultAdapter(cfg));
  console.log(JSON.stringify({ model: adapter.name, byteModelSha256: adapter.sha256 }));
  const curves = device === 'cuda' ? [['cuda', [1, 8, 32, 64]], ['cpu', [8]]] : [['cpu', [1, 8]]];
  for (const [ep, sizes] of curves) {
    const t0 = performance.now();
    let s;
    try {
      s = await ort.InferenceSession.create(adapter.modelPath, { executionProviders: [ep], intraOpNumThreads: ep === 'cpu' ? require('node:os').availableParallelism() : 1, graphOptimizationLevel: 'all' });
    } catch (e) { console.log(JSON.stringify({ ep, error: String(e.message).split('\n')[0].slice(0, 400) })); continue; }
    console.log(JSON.stringify({ ep, sessionCreateMs: Math.round(performance.now() - t0) }));
    for (const B of sizes) {
      const data = new Uint8Array(B * 3 * 512 * 512); for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) % 251;
      const feeds = { [adapter.inputName]: new ort.Tensor('uint8', data, [B, 3, 512, 512]) };
      const w0 = performance.now(); await s.run(feeds); const firstMs = performance.now() - w0;
      await s.run(feeds);
      let n = 0; const t1 = performance.now();
      while (performance.now() - t1 < seconds * 1000) { await s.run(feeds); n++; }
      const dt = (performance.now() - t1) / 1000;
      console.log(JSON.stringify({ ep, io: 'uint8', batch: B, patchesPerSec: +((n * B) / dt).toFixed(1), msPerBatch: +((dt * 1000) / n).toFixed(2), firstRunMs: Math.round(firstMs) }));
    }
    await s.release();
  }
  // The pipeline's own inference threads on the real pages' patches (each page 4 times).
  const files = readdirSync(pagesDir).filter((f) => /\.(jpe?g|png|tiff?|webp)$/i.test(f));
  const patchSets = [];
  for (const f of files) {
    const { frame, error } = await decodeImage(readFileSync(`${pagesDir}/${f}`), { analysisMaxSide: cfg.analysisMaxSide, maxInputPixels: cfg.maxInputPixels, layout: adapter.layout });
    if (frame) for (let k = 0; k < 4; k++) patchSets.push(frame.patches);
    else console.log(JSON.stringify({ page: f, error }));
  }
  const t0 = performance.now();
  const model = await ModelOnly.start(cfg, adapter);
  const startSec = (performance.now() - t0) / 1000;
  try {
    const batches = model.pack(patchSets);
    for (let k = 0; k < 2; k++) {
      const r = await model.run(batches);
      console.log(JSON.stringify({ benchModelOnly: device, run: k, config: { inferWorkers: cfg.inferWorkers, batchesInFlight: cfg.batchesInFlight, batchSize: cfg.batchSize }, startSec: +startSec.toFixed(2),
        pages: patchSets.length, patches: r.patches, pagesPerSec: +(patchSets.length / r.seconds).toFixed(2), patchesPerSec: +(r.patches / r.seconds).toFixed(1), cpuCoreSecondsPerPage: +(r.cpuSeconds / patchSets.length).toFixed(3) }));
    }
  } finally {
    await model.close();
  }
})().catch((e) => { console.log(JSON.stringify({ error: String((e && e.stack) || e).slice(0, 600) })); process.exit(1); });
