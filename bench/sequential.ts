import * as ort from 'onnxruntime-node';
import type { PipelineConfig } from '../src/config';
import { decodeImage } from '../src/decode/decodeImage';
import type { VolumeEngine } from '../src/engine';
import { cropClassifier } from '../src/infer/cropClassifier';
import { openSession } from '../src/infer/session';
import { classifyRounds, orientPage } from '../src/model/orientation';
import { stitchProbabilities } from '../src/infer/stitch';
import type { ModelAdapter } from '../src/model/adapter';
import type { Summarizer } from '../src/model/summarizers';
import type { S3Context } from '../src/s3/context';
import { S3ParquetWriter } from '../src/stages/parquetWriter';
import { Prefetcher } from '../src/stages/prefetcher';
import { openLocation, type Location } from '../src/store';
import { ANALYSIS_VERSION } from '../src/store/marker';
import { modelFilesOf } from '../src/worker';
import { correctFrame } from '../src/transform/correct';
import { exitLoop } from '../operators';
import { isResult } from '../src/stages/transformController';
import { correctedPage } from '../src/stages/transformer';
import { failed, pageWork, type DecodedPage, type FailedPage, type ListedPage, type PlannedPage, type SummarisedPage, type UncorrectedPage } from '../src/page';
import type { DecodedFrame, PatchSet } from '../src/types';

/** One timed run of the plain loop, and the patch sets it ran (both passes), for the model-only figure. */
export interface SequentialRun {
  seconds: number;
  pagesPerSec: number;
  pages: number;
  patchSets: PatchSet[];
}

/** The model on this thread: one session with `threads` intra-op threads, in the pipeline's batch sizes. */
class PageModel {
  private constructor(
    private readonly adapter: ModelAdapter,
    private readonly session: ort.InferenceSession,
    private readonly batchSize: number,
    private readonly summarizer: Summarizer,
    private readonly classifier?: Awaited<ReturnType<typeof cropClassifier>>,
  ) {}

  static async open(adapter: ModelAdapter, device: PipelineConfig['device'], threads: number, batchSize: number): Promise<PageModel> {
    const { session } = await openSession(adapter, device, threads);
    const { module, exportName } = adapter.summarizer;
    const classifier = adapter.classifier && (await cropClassifier(adapter.classifier));
    return new PageModel(adapter, session, batchSize, require(module)[exportName] as Summarizer, classifier);
  }

  /** Runs the frame's byte patches batch by batch through the byte model (as the inference threads do), stitches the maps and summarizes the page. */
  async summarize(frame: DecodedFrame) {
    const { size, count, data } = frame.patches;
    const patch = 3 * size * size;
    const plane = size * size;
    const maps = new Uint8Array(count * plane);
    for (let first = 0; first < count; first += this.batchSize) {
      const n = Math.min(this.batchSize, count - first);
      const out = await this.session.run({ [this.adapter.inputName]: new ort.Tensor('uint8', data.subarray(first * patch, (first + n) * patch), [n, 3, size, size]) });
      maps.set((out[this.adapter.outputName].data as Uint8Array).subarray(0, n * plane), first * plane);
    }
    const prob = stitchProbabilities(maps, frame.patches, frame.width, frame.height);
    const out = await this.summarizer({ prob, width: frame.width, height: frame.height, pixels: frame.pixels }, this.adapter.summarizer.options);
    if (!('direction' in out)) return out;
    if (!this.classifier) throw new Error(`${this.adapter.name}: its summarizer returned line crops, but it has no classifier`);
    return orientPage(out.summary, out.direction, await classifyRounds(out.direction.crops, this.classifier.classify));
  }

  async release(): Promise<void> {
    await Promise.all([this.session.release(), this.classifier?.release()]);
  }
}

/**
 * The baseline: the same building blocks (S3 GET, sharp decode, the ONNX model, the controller's
 * decisions, the OpenCV correction, the Parquet writer) called one page at a time on the main
 * thread with no overlap, the model in one session of `threads` intra-op threads on `cfg.device`. Publishes the
 * table like the pipeline does.
 */
export async function runSequential(engine: VolumeEngine, cfg: PipelineConfig, s3: S3Context, volumeId: string, threads: number): Promise<SequentialRun> {
  const { adapter, controller, configSha256 } = engine;
  const model = await PageModel.open(adapter, cfg.device, threads, cfg.batchSize);
  const input = openLocation(cfg.input, s3);
  const output = openLocation(cfg.output, s3);
  const writer = new S3ParquetWriter(output, openLocation(`${cfg.output}_staging/`, s3), { volumeId, rowGroupSize: cfg.rowGroupSize });
  const patchSets: PatchSet[] = [];
  const started = performance.now();
  const startedAt = new Date().toISOString();
  let pages = 0;
  try {
    for await (const task of new Prefetcher(input, cfg, volumeId).tasks()) {
      let page = await fetchAndDecode(input, pageWork(task), cfg, adapter);
      for (;;) {
        if (page.state === 'decoded') patchSets.push(page.frame.patches);
        const summarised: SummarisedPage | FailedPage = page.state === 'failed' ? page : { ...page, state: 'summarised', summary: await model.summarize(page.frame) };
        const decided = controller.decide(summarised);
        const step = isResult(decided) ? exitLoop(decided) : controller.loopStep(await correct(decided, cfg, adapter));
        if (step.kind === 'exit') {
          await writer.append(step.value.record);
          break;
        }
        page = step.value;
      }
      pages++;
    }
    await writer.publish({ model: { name: adapter.name, sha256: adapter.sha256 }, modelFiles: modelFilesOf(adapter), configSha256, analysisVersion: ANALYSIS_VERSION, input: input.url, startedAt, libraryVersion: 'bench' });
  } catch (err) {
    await writer.abort();
    throw err;
  } finally {
    await model.release();
  }
  const seconds = (performance.now() - started) / 1000;
  return { seconds, pagesPerSec: pages / seconds, pages, patchSets };
}

async function fetchAndDecode(input: Location, page: ListedPage, cfg: PipelineConfig, adapter: ModelAdapter): Promise<DecodedPage | FailedPage> {
  const { bytes } = await input.get(page.task.key, { etag: page.task.etag });
  const outcome = await decodeImage(bytes, { analysisMaxSide: cfg.analysisMaxSide, maxInputPixels: cfg.maxInputPixels, layout: adapter.layout });
  return outcome.frame ? { ...page, state: 'decoded', frame: outcome.frame } : failed(page, outcome.error);
}

/** Applies the plan (the summary was measured on this frame, so its lines are in frame coordinates). */
async function correct(page: PlannedPage, cfg: PipelineConfig, adapter: ModelAdapter): Promise<DecodedPage | UncorrectedPage> {
  try {
    return correctedPage(page, await correctFrame(page.frame, page.plan, page.summary.lines, adapter.layout, cfg.analysisMaxSide), 0);
  } catch (err) {
    return { ...page, state: 'uncorrected', reason: `transform: ${(err as Error).message}` };
  }
}
