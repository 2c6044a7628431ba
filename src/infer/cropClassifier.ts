import * as ort from 'onnxruntime-node';
import { CLS_HEIGHT, CLS_WIDTH } from '../model/lineCrops';
import type { CropClassifier } from '../model/orientation';
import type { ClassifierModel } from '../model/adapter';
import { openSession } from './session';

/**
 * The direction classifier on this thread, page by page (for the single-threaded benches and for
 * checking the batched pipeline against): one session of one intra-op thread, line crops in,
 * softmax [count, 2] out. The pipeline itself runs the classifier on the inference threads.
 */
export async function cropClassifier(model: ClassifierModel): Promise<{ classify: CropClassifier; release: () => Promise<void> }> {
  const { session } = await openSession(model, 'cpu', 1);
  const classify: CropClassifier = async (data, count) => {
    const out = await session.run({ [model.inputName]: new ort.Tensor('float32', data, [count, 3, CLS_HEIGHT, CLS_WIDTH]) });
    return out[model.outputName].data as Float32Array;
  };
  return { classify, release: () => session.release() };
}
