import { VolumeWorker, resolveConfig, type PageResult, type PipelineConfig } from '../../src';

/** Runs the folder `input` through the whole pipeline (default model unless `settings` say otherwise), publishing to `output` as `volumeId`; its pages by key. */
export async function runFolder(input: string, output: string, settings: Partial<PipelineConfig>, volumeId: string): Promise<{ results: Map<string, PageResult>; published: Awaited<ReturnType<VolumeWorker['run']>> }> {
  const worker = new VolumeWorker(resolveConfig({ input, output, ...settings }), undefined, volumeId);
  const results = new Map<string, PageResult>();
  worker.pages$.subscribe((page) => results.set(page.record.key, page));
  const published = await worker.run();
  return { results, published };
}
