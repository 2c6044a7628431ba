import type { EngineConfig } from '../config';
import { modelAdapter, type ModelAdapter } from '../model/adapter';
import { UsageError } from './args';

/** The adapter `--model` names (see `modelAdapter`); a bad model is a usage error naming `--model`. */
export async function adapterFor(model: string | undefined, cfg: EngineConfig): Promise<ModelAdapter> {
  try {
    return await modelAdapter({ ...cfg, model });
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/^config\.model/, '--model'));
  }
}
