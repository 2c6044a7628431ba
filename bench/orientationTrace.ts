import * as ort from 'onnxruntime-node';
import { resolveConfig, type PipelineConfig } from '../src/config';
import { decodeImage } from '../src/decode/decodeImage';
import { cropClassifier } from '../src/infer/cropClassifier';
import { openSession } from '../src/infer/session';
import { stitchProbabilities } from '../src/infer/stitch';
import { modelAdapter } from '../src/model/adapter';
import { byteAdapter } from '../src/model/byteModel';
import { CROPS_PER_LINE } from '../src/model/lineCrops';
import { classifyRounds, decideFlip, directionRequest, orientPage, verdictOf, type CropClassifier, type DirectionRequest } from '../src/model/orientation';
import { findTextLines, summarizeGeometry, type PageGeometry } from '../src/model/textlines';
import { confirms, planFor, publishedOrientation } from '../src/stages/transformController';
import { correctFrame } from '../src/transform/correct';
import type { DecodedFrame, PageSummary } from '../src/types';

/**
 * The orientation evidence of one page, both passes, on this thread (`npm run accuracy --
 * --trace`): per pass the text-line axis (base orientation, agreement), each sampled line's crops'
 * P(180) (and, where the second round read them, their 180° turns' P(0)) with the line's vote
 * weight, the weighted mean, the ascender and layout votes, the decision; then the controller's plan, the second
 * pass's reading and what the quality gate did, and the orientation the row publishes. The same
 * building blocks as the pipeline (decode, byte model, stitch, analysis, classifier rounds,
 * controller rules, OpenCV correction), one page at a time.
 */
export class OrientationTracer {
  private constructor(
    private readonly cfg: PipelineConfig,
    private readonly adapter: Awaited<ReturnType<typeof modelAdapter>>,
    private readonly session: ort.InferenceSession,
    private readonly classify: CropClassifier,
    private readonly release: () => Promise<void>,
  ) {}

  static async open(overrides: Partial<PipelineConfig> = {}): Promise<OrientationTracer> {
    const cfg = resolveConfig({ ...overrides, input: 'trace', output: 'trace' });
    const adapter = byteAdapter(await modelAdapter(cfg));
    if (!adapter.classifier) throw new Error(`${adapter.name}: no direction classifier to trace`);
    const { session } = await openSession(adapter, 'cpu', 1);
    const { classify, release } = await cropClassifier(adapter.classifier);
    return new OrientationTracer(cfg, adapter, session, classify, async () => {
      await Promise.all([session.release(), release()]);
    });
  }

  async close(): Promise<void> {
    await this.release();
  }

  /** The evidence of the page `bytes`, as lines of text. */
  async trace(bytes: Buffer): Promise<string[]> {
    const { cfg, adapter } = this;
    const out: string[] = [];
    const decoded = await decodeImage(bytes, { analysisMaxSide: cfg.analysisMaxSide, maxInputPixels: cfg.maxInputPixels, layout: adapter.layout });
    if (!decoded.frame) return [`  decode failed: ${decoded.error}`];
    const first = await this.pass(decoded.frame, 'pass 1', out);
    const plan = planFor(first, cfg);
    if (!plan) {
      const o = publishedOrientation(first, undefined, undefined, false);
      out.push(`  plan: none → published ${o.deg} (conf ${o.confidence?.toFixed(2)})`);
      return out;
    }
    out.push(`  plan: ${plan.kind} rotate ${plan.rotateDeg.toFixed(2)}°${plan.dewarp ? ' + dewarp' : ''}`);
    const corrected = await correctFrame(decoded.frame, plan, first.lines, adapter.layout, cfg.analysisMaxSide);
    const second = await this.pass(corrected, 'pass 2', out);
    const ok = confirms(first, second, plan, cfg);
    const o = publishedOrientation(first, second, plan, ok);
    out.push(`  gate: ${ok ? 'confirmed' : 'rejected'} → published ${o.deg} (conf ${o.confidence?.toFixed(2)})`);
    return out;
  }

  private async pass(frame: DecodedFrame, name: string, out: string[]): Promise<PageSummary> {
    const { size, count, data } = frame.patches;
    const maps = (await this.session.run({ [this.adapter.inputName]: new ort.Tensor('uint8', data, [count, 3, size, size]) }))[this.adapter.outputName].data as Uint8Array;
    const prob = stitchProbabilities(maps, frame.patches, frame.width, frame.height);
    const geometry = findTextLines(prob, frame.width, frame.height, frame.pixels);
    const upright = summarizeGeometry(geometry, frame.width, frame.height, false);
    const request = directionRequest(geometry, frame.pixels, frame.width, frame.height);
    const softmax = await classifyRounds(request.crops, this.classify);
    const summary = orientPage(upright, request, softmax);
    out.push(`  ${name}: ${frame.width}×${frame.height}, base ${geometry.baseOrientation} (axis agreement ${geometry.axisAgreement.toFixed(2)}), ${geometry.lines.length} lines, skew ${upright.skewDeg.toFixed(2)}° (conf ${upright.confidence.toFixed(2)})`);
    out.push(...evidence(geometry, request, softmax));
    out.push(`    → orientation ${summary.orientationDeg} (conf ${summary.orientationConfidence?.toFixed(2)})`);
    return summary;
  }
}

/** Each sampled line's crops' scores and weight, the classifier's verdict, the layout vote and the decision. */
function evidence(geometry: PageGeometry, request: DirectionRequest, softmax: Float32Array): string[] {
  const { crops, vote, ascenders } = request;
  const scored = softmax.length >> 1;
  const total = crops.weights.length;
  const [first] = crops.rounds;
  const out: string[] = [];
  for (let line = 0; line < total / CROPS_PER_LINE; line++) {
    const cells: string[] = [];
    for (let k = 0; k < CROPS_PER_LINE; k++) {
      const i = line * CROPS_PER_LINE + k;
      const plain = i < first ? i : first + i;
      const turned = i < first ? first + i : total + i;
      if (plain >= scored) continue;
      cells.push(turned < scored ? `${softmax[2 * plain + 1].toFixed(2)}/${softmax[2 * turned].toFixed(2)}` : softmax[2 * plain + 1].toFixed(2));
    }
    if (cells.length) out.push(`    line ${line} (weight ${crops.weights[line * CROPS_PER_LINE].toFixed(1)}): P(180)${cells[0].includes('/') ? '/turn P(0)' : ''} ${cells.join(' ')}`);
  }
  const verdict = verdictOf(crops, softmax);
  const decided = decideFlip(verdict, vote, ascenders);
  out.push(`    classifier: mean P(180) ${verdict.p180.toFixed(3)} over ${verdict.crops} crops (flipped ${verdict.flipped}, conf ${verdict.confidence.toFixed(2)}); ascenders: up ${ascenders.up}, down ${ascenders.down}; layout: short end ${vote.shortEnd}, short start ${vote.shortStart}; decided flipped ${decided.flipped} (conf ${decided.confidence.toFixed(2)}), ${geometry.fragments.length} fragments`);
  return out;
}
