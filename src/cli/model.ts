import type { EngineConfig } from '../config';
import { adapterOf, type ModelAdapter } from '../model/adapter';
import { UsageError } from './args';

/** The adapter `--model` names (see `adapterOf`); a bad model is a usage error naming `--model`. */
export async function modelFlag(model: string | undefined, cfg: EngineConfig): Promise<ModelAdapter> {
  try {
    return await adapterOf(model, cfg);
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/^config\.model/, '--model'));
  }
}
