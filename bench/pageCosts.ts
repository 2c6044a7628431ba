/**
 * Milliseconds (process CPU and wall) a page costs outside the model, part by part, on one thread:
 * decoding (sharp + tiling), packing its patches into a batch buffer, stitching the byte maps,
 * finding the text lines, the skew estimate (projection profile), cutting the line crops for the
 * direction classifier and deciding the orientation from its scores, the transform (OpenCV
 * rotation or thin-plate spline + re-tiling) of the pages the controller corrects, and their second
 * pass (stitch + analysis + orientation). Per-page figures average over every page, corrected or
 * not; `outsideModel` is their sum, in core-seconds a page. The direction classifier itself is a
 * model (it runs on the inference threads): its time, both passes, is `classifier`, outside the
 * sum; `firstPassSecondRoundShare` is the share of pages whose first pass needed the classifier's
 * second round of crops (they are all cut on the analysis thread, classified only then). The pages
 * are the demo mix at A4 150 dpi, their maps from the byte-wrapped default model (not timed). CPU
 * time is the process's, so everything runs as the pipeline's workers do: one ONNX thread (no
 * spinning pool) and one libvips thread. Prints one JSON object.
 *
 *   npm run build && node dist/bench/pageCosts.js [--repeats N]
 */
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { resolveConfig } from '../src/config';
import { demoPages } from '../src/demoVolume';
import { decodeImage } from '../src/decode/decodeImage';
import { openSession } from '../src/infer/session';
import { stitchProbabilities } from '../src/infer/stitch';
import { defaultAdapter } from '../src/model/adapter';
import { byteAdapter } from '../src/model/byteModel';
import { cropClassifier } from '../src/infer/cropClassifier';
import { classifyRounds, directionRequest, orientPage } from '../src/model/orientation';
import { summarizeTextPage, type PageAnalysis } from '../src/model/summarizers';
import { findTextLines, summarizeGeometry } from '../src/model/textlines';
import { planFor } from '../src/stages/transformController';
import { correctFrame } from '../src/transform/correct';
import type { DecodedFrame } from '../src/types';
import { renderSyntheticPage } from '../src/synth/pages';
import { scriptFlags } from './args';
import { runMain } from './fixture';
import { round } from './summary';

const repeats = scriptFlags('pageCosts', [{ name: 'repeats', kind: 'int', value: '<n>', help: 'timed rounds over the demo mix after an untimed one; figures average over them (default 3)' }]).int('repeats') ?? 3;
sharp.concurrency(1);

/** Process CPU ms (every thread: GC helpers, libvips, ONNX) and wall ms spent in `fn`. */
async function cost<T>(fn: () => Promise<T> | T): Promise<{ value: T; cpu: number; wall: number }> {
  const start = process.cpuUsage();
  const started = performance.now();
  const value = await fn();
  const used = process.cpuUsage(start);
  return { value, cpu: (used.user + used.system) / 1000, wall: performance.now() - started };
}

async function main(): Promise<void> {
  const cfg = resolveConfig({ input: 'bench', output: 'bench' });
  const adapter = byteAdapter(defaultAdapter(cfg));
  const { session } = await openSession(adapter, 'cpu', 1);
  if (!adapter.classifier) throw new Error('the default adapter has a direction classifier');
  const { classify } = await cropClassifier(adapter.classifier);
  const specs = demoPages(12).flatMap((p) => (p.spec ? [p.spec] : []));
  const parts = ['decode', 'pack', 'stitch', 'textLines', 'skew', 'crops', 'orient', 'transform', 'secondPass', 'classifier'] as const;
  const outside = parts.filter((part) => part !== 'classifier');
  const none = { value: undefined, cpu: 0, wall: 0 };
  /** The frame's byte maps from the model (not timed). */
  const mapsOf = async ({ patches: { size, count, data } }: DecodedFrame) =>
    (await session.run({ [adapter.inputName]: new ort.Tensor('uint8', data, [count, 3, size, size]) }))[adapter.outputName].data as Uint8Array;
  const batch = new Uint8Array(cfg.batchSize * 3 * cfg.patchSize * cfg.patchSize);
  const cpu = Object.fromEntries(parts.map((p) => [p, 0])) as Record<(typeof parts)[number], number>;
  const wall = { ...cpu };
  let secondRounds = 0;
  for (let r = 0; r <= repeats; r++) {
    for (const spec of specs) {
      const bytes = await renderSyntheticPage(spec);
      const decoded = await cost(() => decodeImage(bytes, { analysisMaxSide: cfg.analysisMaxSide, maxInputPixels: cfg.maxInputPixels, layout: adapter.layout }));
      const frame = decoded.value.frame;
      if (!frame) throw new Error(`demo page failed to decode: ${decoded.value.error}`);
      const { data } = frame.patches;
      const pack = await cost(() => { for (let at = 0; at < data.length; at += batch.length) batch.set(data.subarray(at, Math.min(data.length, at + batch.length))); });
      const maps = await mapsOf(frame);
      const prob = await cost(() => stitchProbabilities(maps, frame.patches, frame.width, frame.height));
      const lines = await cost(() => findTextLines(prob.value, frame.width, frame.height, frame.pixels));
      const skew = await cost(() => summarizeGeometry(lines.value, frame.width, frame.height, false));
      const crops = await cost(() => directionRequest(lines.value, frame.pixels, frame.width, frame.height));
      const scores = await cost(() => classifyRounds(crops.value.crops, classify));
      const orient = await cost(() => orientPage(skew.value, crops.value, scores.value));
      const plan = planFor(orient.value, cfg);
      const transform = plan ? await cost(() => correctFrame(frame, plan, orient.value.lines, adapter.layout, cfg.analysisMaxSide)) : none;
      const second = transform.value;
      const secondMaps = second && (await mapsOf(second));
      const secondPass = second && secondMaps
        ? await cost(() => summarizeTextPage({ prob: stitchProbabilities(secondMaps, second.patches, second.width, second.height), width: second.width, height: second.height, pixels: second.pixels }, adapter.summarizer.options) as PageAnalysis)
        : { ...none, value: undefined };
      const secondScores = secondPass.value ? await cost(() => classifyRounds((secondPass.value as PageAnalysis).direction.crops, classify)) : none;
      const secondOrient = secondPass.value && secondScores.value ? await cost(() => orientPage(secondPass.value!.summary, secondPass.value!.direction, secondScores.value!)) : none;
      if (r === 0) continue; // warm-up round
      if (scores.value.length > 2 * crops.value.crops.rounds[0]) secondRounds++;
      const classifier = { cpu: scores.cpu + secondScores.cpu, wall: scores.wall + secondScores.wall };
      const measured = { decode: decoded, pack, stitch: prob, textLines: lines, skew, crops, orient, transform, secondPass: { cpu: secondPass.cpu + secondOrient.cpu, wall: secondPass.wall + secondOrient.wall }, classifier };
      for (const part of parts) {
        cpu[part] += measured[part].cpu;
        wall[part] += measured[part].wall;
      }
    }
  }
  const pages = repeats * specs.length;
  const perPage = (ms: Record<string, number>) => {
    const figures = Object.fromEntries(parts.map((part) => [part, round(ms[part] / pages, 1)]));
    const sum = (names: readonly string[]) => names.reduce((n, part) => n + ms[part], 0) / pages;
    return { ...figures, summarize: round(sum(['stitch', 'textLines', 'skew', 'crops']), 1), outsideModel: round(sum(outside), 1) };
  };
  console.log(JSON.stringify({ pages: specs.length, repeats, firstPassSecondRoundShare: round(secondRounds / pages, 2), cpuMsPerPage: perPage(cpu), wallMsPerPage: perPage(wall) }));
}

runMain(main);
