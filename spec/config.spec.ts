import { defaultConfig, modelAdapter, resolveConfig, VolumeEngine, type PipelineConfig } from '../src';

const base = { input: 'in/', output: 'out/' };

describe('resolveConfig', () => {
  it('fills every setting from the defaults', () => {
    expect(resolveConfig(base)).toEqual({ ...defaultConfig, ...base });
  });

  // One bad value per setting (and a few edges): each is refused with one line naming the setting.
  const bad: Array<[keyof PipelineConfig, unknown, RegExp]> = [
    ['input', 3, /^config\.input must be a string, got 3$/],
    ['imageExtensions', ['jpg'], /^config\.imageExtensions must be a non-empty list/],
    ['listPageSize', 1001, /^config\.listPageSize must be an integer in \[1, 1000\], got 1001$/],
    ['inflightPages', 0, /^config\.inflightPages must be an integer >= 1, got 0$/],
    ['prefetchConcurrency', 1.5, /^config\.prefetchConcurrency must be an integer/],
    ['prefetchCapacity', '8', /^config\.prefetchCapacity must be an integer >= 1, got "8"$/],
    ['decodeWorkers', -1, /^config\.decodeWorkers/],
    ['analysisMaxSide', 10, /^config\.analysisMaxSide must be an integer >= 64/],
    ['maxInputPixels', 0, /^config\.maxInputPixels/],
    ['patchSize', 500, /^config\.patchSize must be a multiple of 32/],
    ['patchOverlap', 256, /^config\.patchOverlap must be less than half of patchSize/],
    ['inferWorkers', 0, /^config\.inferWorkers/],
    ['inferThreads', Number.NaN, /^config\.inferThreads/],
    ['device', 'gpu', /^config\.device must be one of cpu, cuda, auto, got "gpu"$/],
    ['batchSize', 0, /^config\.batchSize/],
    ['batchMaxWaitMs', -1, /^config\.batchMaxWaitMs must be a number >= 0/],
    ['batcherSlots', 0, /^config\.batcherSlots/],
    ['reprocessWeight', 0, /^config\.reprocessWeight/],
    ['initialWeight', 0.5, /^config\.initialWeight/],
    ['model', '', /^config\.model must be "tiny" or the path/],
    ['transformWorkers', 0, /^config\.transformWorkers/],
    ['skewThresholdDeg', 90, /^config\.skewThresholdDeg must be a number in \[0, 45\], got 90$/],
    ['curvatureThresholdPx', -2, /^config\.curvatureThresholdPx/],
    ['minConfidence', 1.5, /^config\.minConfidence must be a number in \[0, 1\], got 1.5$/],
    ['maxPasses', 3, /^config\.maxPasses must be one of 1, 2, got 3$/],
    ['rowGroupSize', 0, /^config\.rowGroupSize/],
  ];
  it.each(bad)('refuses a bad %s (%p)', (key, value, message) => {
    expect(() => resolveConfig({ ...base, [key]: value })).toThrow(message);
  });

  it('refuses a key that is not a setting, such as a typo or a setting that no longer exists', () => {
    expect(() => resolveConfig({ ...base, batchsize: 4 } as never)).toThrow(/^config\.batchsize is not a setting \(settings: input, output, /);
    expect(() => resolveConfig({ ...base, s3MaxRetries: 3 } as never)).toThrow(/^config\.s3MaxRetries is not a setting/);
  });
});

describe('config.model', () => {
  it('names the model an engine starts with when no adapter is given', async () => {
    const engine = await VolumeEngine.create(resolveConfig({ ...base, model: 'tiny', inferWorkers: 1, decodeWorkers: 1, transformWorkers: 1 }));
    try {
      expect(engine.adapter.name).toBe('tiny-ink');
    } finally {
      await engine.close();
    }
  });

  it('is the default detector when unset, and a missing file is a one-line error naming it', async () => {
    expect((await modelAdapter(resolveConfig(base))).name).toBe('ppocr-v4-det');
    await expect(modelAdapter(resolveConfig({ ...base, model: '/nowhere/model.onnx' }))).rejects.toThrow('config.model: no such file /nowhere/model.onnx');
  });
});
