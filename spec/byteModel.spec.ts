import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../src/config';
import { demoPages } from '../src/demoVolume';
import { fileSha256, tinyAdapter } from '../src/model/adapter';
import { BYTE_INPUT, BYTE_OUTPUT, byteAdapter } from '../src/model/byteModel';
import { inWorker } from './helpers/inWorker';

const cfg = resolveConfig({ input: 'in', output: 'out' });
let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'rxv-bytemodel-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Each demo page (index into `demoPages(12)`) through today's float path (patches normalised in JS,
 * float maps) and the wrapped byte model, on one thread: the largest |byte − 255·p| of the maps, and
 * both paths' summaries with the controller's plan.
 */
const COMPARE = `
  const ort = require('onnxruntime-node');
  const { readFileSync } = require('node:fs');
  const { resolveConfig } = require(DIST + '/src/config');
  const { demoPages } = require(DIST + '/src/demoVolume');
  const { decodeImage } = require(DIST + '/src/decode/decodeImage');
  const { stitchPatchMaps, stitchProbabilities } = require(DIST + '/src/infer/stitch');
  const adapters = require(DIST + '/src/model/adapter');
  const { byteAdapter } = require(DIST + '/src/model/byteModel');
  const summarizers = require(DIST + '/src/model/summarizers');
  const { planFor } = require(DIST + '/src/stages/transformController');
  const { renderSyntheticPage } = require(DIST + '/src/synth/pages');
  const cfg = resolveConfig({ input: 'in', output: 'out' });
  const source = adapters[input.model + 'Adapter'](cfg);
  const wrapped = byteAdapter(source, input.dir);
  const open = (a) => ort.InferenceSession.create(readFileSync(a.modelPath), { intraOpNumThreads: 1 });
  const [floats, bytes] = [await open(source), await open(wrapped)];
  const summarize = summarizers[source.summarizer.exportName];
  const pages = [];
  for (const index of input.pages) {
    const decoded = await decodeImage(await renderSyntheticPage(demoPages(12)[index].spec), { analysisMaxSide: cfg.analysisMaxSide, maxInputPixels: cfg.maxInputPixels, layout: source.layout });
    const { width, height, pixels, patches } = decoded.frame;
    const dims = [patches.count, 3, patches.size, patches.size];
    const x = new Float32Array(patches.data.length);
    const { mean, std } = source.layout; // the float model's input: (v/255 − mean)/std per channel plane
    for (let i = 0, plane = patches.size * patches.size; i < x.length; i++) { const c = Math.floor(i / plane) % 3; x[i] = (patches.data[i] / 255 - mean[c]) / std[c]; }
    const p = (await floats.run({ [source.inputName]: new ort.Tensor('float32', x, dims) }))[source.outputName].data;
    const b = (await bytes.run({ [wrapped.inputName]: new ort.Tensor('uint8', patches.data, dims) }))[wrapped.outputName].data;
    let worst = 0;
    for (let i = 0; i < p.length; i++) worst = Math.max(worst, Math.abs(b[i] - 255 * p[i]));
    const summary = async (prob) => {
      // The default model's summarizer returns the page read upright plus its crops for the classifier (a PageAnalysis).
      const analysed = await summarize({ prob, width, height, pixels }, source.summarizer.options);
      const s = analysed.summary || analysed;
      return { orientationDeg: s.orientationDeg, skewDeg: s.skewDeg, textLines: s.textLines, plan: planFor(s, cfg) && planFor(s, cfg).kind };
    };
    pages.push({ index, lengths: [p.length, b.length], worst, before: await summary(stitchPatchMaps(p, patches, width, height)), after: await summary(stitchProbabilities(b, patches, width, height)) });
  }
  return pages;
`;

interface Compared {
  index: number;
  lengths: [number, number];
  worst: number;
  before: { orientationDeg: number; skewDeg: number; textLines: number; plan?: string };
  after: Compared['before'];
}

const compare = (model: 'tiny' | 'default', pages: number[]) => inWorker<Compared[]>(COMPARE, { model, pages, dir });

describe('byteAdapter (uint8 in, uint8 out)', () => {
  it('wraps a model into a cached file of its own identity, taking and giving bytes', () => {
    const source = tinyAdapter(cfg);
    const wrapped = byteAdapter(source, dir);
    expect(wrapped).toMatchObject({ io: 'uint8', inputName: BYTE_INPUT, outputName: BYTE_OUTPUT, name: source.name });
    expect(wrapped.modelPath.startsWith(dir)).toBe(true);
    expect(wrapped.sha256).toBe(fileSha256(wrapped.modelPath));
    expect(wrapped.sha256).not.toBe(source.sha256);
    expect(byteAdapter(source, dir)).toEqual(wrapped);
    expect(byteAdapter(wrapped, dir)).toBe(wrapped);
  });

  it('refuses a source file whose sha256 does not match the adapter', () => {
    expect(() => byteAdapter({ ...tinyAdapter(cfg), sha256: '0'.repeat(64) }, dir)).toThrow(/sha256/);
  });

  it('the tiny model gives round(255·p) of the float model on a demo page', async () => {
    const [page] = await compare('tiny', [1]);
    expect(page.lengths[1]).toBe(page.lengths[0]);
    expect(page.worst).toBeLessThanOrEqual(0.51);
  }, 60_000);

  it('the default model gives the float path\'s maps (±½), orientation and transform on the demo pages, skew within 0.01°', async () => {
    const pages = await compare('default', demoPages(12).flatMap((page, index) => (page.spec ? [index] : [])));
    expect(pages).toHaveLength(11);
    for (const { index, lengths, worst, before, after } of pages) {
      expect(lengths[1]).toBe(lengths[0]);
      expect({ index, worst: worst <= 0.51 }).toEqual({ index, worst: true });
      expect({ index, orientationDeg: after.orientationDeg, plan: after.plan, textLines: after.textLines }).toEqual({ index, orientationDeg: before.orientationDeg, plan: before.plan, textLines: before.textLines });
      expect(Math.abs(after.skewDeg - before.skewDeg)).toBeLessThanOrEqual(0.01);
    }
  }, 300_000);
});
