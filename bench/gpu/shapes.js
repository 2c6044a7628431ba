// Does switching batch shapes cost on CUDA? One session of the byte-wrapped detector, warmed at the
// pipeline's shapes (1, 2, 4, 8, 16, 32), then runs of one shape repeated vs shapes alternating.
// Prints JSON lines.   node shapes.js       (RX_APP: the app)
const app = process.env.RX_APP || '/tmp/rx/app';
const ort = require(`${app}/node_modules/onnxruntime-node`);
const rx = require(`${app}/dist/src/index.js`);
const { byteAdapter } = require(`${app}/dist/src/model/byteModel.js`);
(async () => {
  const cfg = rx.resolveConfig({ input: 'x', output: 'y', device: 'cuda' });
  const adapter = byteAdapter(rx.defaultAdapter(cfg));
  const s = await ort.InferenceSession.create(adapter.modelPath, { executionProviders: ['cuda'], intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  const feeds = (B) => ({ [adapter.inputName]: new ort.Tensor('uint8', new Uint8Array(B * 3 * 512 * 512).fill(128), [B, 3, 512, 512]) });
  const shapes = [1, 2, 4, 8, 16, 32];
  for (const B of shapes) { await s.run(feeds(B)); await s.run(feeds(B)); }
  const time = async (label, seq) => {
    const t = performance.now();
    for (const B of seq) await s.run(feeds(B));
    const ms = performance.now() - t;
    console.log(JSON.stringify({ label, runs: seq.length, patches: seq.reduce((a, b) => a + b, 0), msPerRun: +(ms / seq.length).toFixed(1) }));
  };
  await time('same shape 32', Array(24).fill(32));
  await time('same shape 16', Array(24).fill(16));
  await time('alternating 32/16/8', Array.from({ length: 24 }, (_, i) => [32, 16, 8][i % 3]));
  await time('alternating 32/4', Array.from({ length: 24 }, (_, i) => [32, 4][i % 2]));
  await time('same shape 32 again', Array(24).fill(32));
  process.exit(0);
})().catch((e) => { console.log(JSON.stringify({ error: String(e.stack || e).slice(0, 600) })); process.exit(1); });
