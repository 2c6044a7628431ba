import { createHash } from 'node:crypto';
import type { PipelineConfig } from './config';
import { defaultAdapter, type ModelAdapter } from './model/adapter';
import { Decoder } from './stages/decoder';
import { GpuBatcher } from './stages/gpuBatcher';
import { TransformController } from './stages/transformController';
import { Transformer } from './stages/transformer';

/**
 * The thread pools a process runs volumes on: decoder (sharp), batcher (ONNX sessions) and
 * transformer (OpenCV), plus the controller's rules. Start one per process and share it between
 * volumes (`new VolumeWorker(cfg, s3, id, tasks, { engine })`); a VolumeWorker without one starts
 * its own and closes it when it is done.
 */
export class VolumeEngine {
  private constructor(
    readonly cfg: PipelineConfig,
    readonly adapter: ModelAdapter,
    readonly decoder: Decoder,
    readonly batcher: GpuBatcher,
    readonly transformer: Transformer,
    readonly controller: TransformController,
  ) {}

  /** Starts the pools (the model sessions are opened and warmed up before this resolves). */
  static async create(cfg: PipelineConfig, adapter: ModelAdapter = defaultAdapter(cfg)): Promise<VolumeEngine> {
    const controller = new TransformController(cfg);
    const batcher = await GpuBatcher.create(cfg, adapter);
    const decoder = new Decoder(cfg, adapter.layout);
    const transformer = new Transformer(cfg, adapter.layout);
    return new VolumeEngine(cfg, adapter, decoder, batcher, transformer, controller);
  }

  /** sha256 of the settings that change the table's contents (not of the speed knobs). */
  get configSha256(): string {
    const { cfg } = this;
    const relevant = {
      imageExtensions: cfg.imageExtensions,
      analysisMaxSide: cfg.analysisMaxSide,
      maxInputPixels: cfg.maxInputPixels,
      patchSize: cfg.patchSize,
      patchOverlap: cfg.patchOverlap,
      skewThresholdDeg: cfg.skewThresholdDeg,
      curvatureThresholdPx: cfg.curvatureThresholdPx,
      minConfidence: cfg.minConfidence,
      maxPasses: cfg.maxPasses,
    };
    return createHash('sha256').update(JSON.stringify(relevant)).digest('hex');
  }

  async close(): Promise<void> {
    await Promise.all([this.decoder.close(), this.batcher.close(), this.transformer.close()]);
  }
}
