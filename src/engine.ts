import { createHash } from 'node:crypto';
import { CONTENT_SETTINGS, type ContentSettings, type EngineConfig } from './config';
import { modelAdapter, type ModelAdapter } from './model/adapter';
import { Decoder } from './stages/decoder';
import { DirectionClassifier } from './stages/classifier';
import { GpuBatcher } from './stages/gpuBatcher';
import { Summariser } from './stages/summariser';
import { TransformController } from './stages/transformController';
import { Transformer } from './stages/transformer';

/** The content settings of the page images: hashed only when images are on, so a table-only run keeps the hash it had before images existed. */
const IMAGE_SETTINGS: ReadonlyArray<keyof ContentSettings> = ['images', 'imageQuality'];

/** sha256 of `cfg`'s content settings (`CONTENT_SETTINGS`, in their order; the image settings only with images on): the marker's `configSha256`. */
export function contentConfigSha256(cfg: ContentSettings): string {
  const settings = cfg.images === 'off' ? CONTENT_SETTINGS.filter((key) => !IMAGE_SETTINGS.includes(key)) : CONTENT_SETTINGS;
  const relevant = Object.fromEntries(settings.map((key) => [key, cfg[key]]));
  return createHash('sha256').update(JSON.stringify(relevant)).digest('hex');
}

/**
 * The thread pools a process runs volumes on: decoder (sharp), batcher (the inference threads: ONNX
 * sessions of the detector and the direction classifier, which the classifier stage uses),
 * summariser (the analysis threads) and transformer (OpenCV), plus the controller's rules. Start one per process and share it between
 * volumes (`new VolumeWorker(cfg, s3, id, tasks, { engine })`); a VolumeWorker without one starts
 * its own and closes it when it is done.
 */
export class VolumeEngine {
  private constructor(
    /** The engine's own settings and the content settings its stages apply (no volume's). */
    readonly cfg: EngineConfig,
    /** The model the engine runs: the byte-wrapped one (`byteAdapter`), whose sha256 a table's marker records. */
    readonly adapter: ModelAdapter,
    readonly decoder: Decoder,
    readonly batcher: GpuBatcher,
    readonly summariser: Summariser,
    readonly classifier: DirectionClassifier,
    readonly transformer: Transformer,
    readonly controller: TransformController,
  ) {}

  /**
   * Starts the pools (the model sessions are opened and warmed up before this resolves), for
   * `adapter` or else the model `cfg.model` names (see `modelAdapter`).
   */
  static async create(cfg: EngineConfig, adapter?: ModelAdapter): Promise<VolumeEngine> {
    adapter ??= await modelAdapter(cfg);
    const controller = new TransformController(cfg);
    // Both pools start at once; when one fails, the other is closed before the failure is thrown.
    const [batcher, summariser] = await Promise.allSettled([GpuBatcher.create(cfg, adapter), Summariser.create(cfg, adapter)]);
    if (batcher.status === 'rejected' || summariser.status === 'rejected') {
      await Promise.all([batcher, summariser].map((s) => (s.status === 'fulfilled' ? s.value.close() : undefined)));
      throw (batcher.status === 'rejected' ? batcher : (summariser as PromiseRejectedResult)).reason;
    }
    const decoder = new Decoder(cfg, adapter.layout);
    const transformer = new Transformer(cfg, adapter.layout);
    return new VolumeEngine(cfg, batcher.value.adapter, decoder, batcher.value, summariser.value, new DirectionClassifier(batcher.value.classifier), transformer, controller);
  }

  /** sha256 of the settings that change the table's contents (see `contentConfigSha256`). */
  get configSha256(): string {
    return contentConfigSha256(this.cfg);
  }

  async close(): Promise<void> {
    await Promise.all([this.decoder.close(), this.batcher.close(), this.summariser.close(), this.transformer.close()]);
  }
}
