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
import { pageWork, type SummarisedPage } from '../src/page';
import { correctedPage } from '../src/stages/transformer';
import { TransformController, isResult, probesTurn } from '../src/stages/transformController';
import { correctFrame } from '../src/transform/correct';
import type { DecodedFrame, PageSummary } from '../src/types';

/**
 * The orientation evidence of one page, every pass, on this thread (`npm run accuracy --
 * --trace`): per pass the text-line axis (base orientation, agreement), each sampled line's crops'
 * P(180) (and, where the second round read them, their 180° turns' P(0)) with the line's vote
 * weight, the weighted mean, the ascender and layout votes, the decision; between passes the
 * controller's plan (a probe turn marked so); at the end the row the controller publishes (its
 * orientation, skew, kept and rejected transform, rotation, passes). The same building blocks as
 * the pipeline (decode, byte model, stitch, analysis, classifier rounds, `TransformController`,
 * OpenCV correction), one page at a time.
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
    // The controller decides, as in the pipeline: each plan is applied and read again until the page leaves.
    const controller = new TransformController(cfg);
    let page: SummarisedPage = { ...pageWork({ volumeId: 'trace', key: 'trace', etag: '', size: bytes.length, seq: 0 }), state: 'summarised', frame: decoded.frame, summary: first };
    for (;;) {
      const decided = controller.decide(page);
      if (isResult(decided)) {
        const { record } = decided;
        out.push(`  → published ${record.orientation_deg} (conf ${record.orientation_confidence?.toFixed(2)}), skew ${record.skew_deg?.toFixed(3)}°, transform ${record.transform}${record.rejected_transform ? ` (${record.rejected_transform} rejected)` : ''}, rotation ${record.applied_rotation_deg?.toFixed(3)}°, ${record.passes} passes`);
        return out;
      }
      out.push(`  plan: ${decided.plan.kind} rotate ${decided.plan.rotateDeg.toFixed(2)}°${decided.plan.dewarp ? ' + dewarp' : ''}${probesTurn(decided.summary) && !decided.probe ? ' (probe)' : ''}`);
      const frame = await correctFrame(decided.frame, decided.plan, decided.summary.lines, adapter.layout, cfg.analysisMaxSide);
      const corrected = correctedPage(decided, frame, 0);
      page = { ...corrected, state: 'summarised', summary: await this.pass(frame, `pass ${corrected.pass}`, out) };
    }
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
    out.push(`  ${name}: ${frame.width}×${frame.height}, base ${geometry.baseOrientation} (axis agreement ${geometry.axisAgreement.toFixed(2)}), ${geometry.lines.length} lines (text coverage ${(100 * geometry.coverage).toFixed(3)} %), skew ${upright.skewDeg.toFixed(2)}° (conf ${upright.confidence.toFixed(2)})`);
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
