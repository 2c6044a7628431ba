import { adapterOf, tinyAdapter, CONTENT_SETTINGS, ENGINE_SETTINGS, VOLUME_SETTINGS, contentConfigSha256, defaultConfig, modelAdapter, resolveConfig, resolveEngineConfig, splitSettings, VolumeEngine, VolumeWorker, type PipelineConfig } from '../src';
import { cudaSetUp } from './helpers/cuda';

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

describe('device-dependent defaults', () => {
  const gpu = { inferWorkers: 1, batchesInFlight: 2, batchSize: 32, batcherSlots: 48, inflightPages: 128 };

  it('cuda: one session, batches of 32, more pages in flight', () => {
    expect(resolveConfig({ ...base, device: 'cuda' })).toMatchObject(gpu);
  });

  it(`auto: ${cudaSetUp ? "the GPU's (the documented CUDA setup is here)" : "the CPU's, as the run falls back to the CPU (no CUDA here)"}`, () => {
    const auto = resolveConfig({ ...base, device: 'auto' });
    if (cudaSetUp) expect(auto).toMatchObject(gpu);
    else expect(auto).toEqual({ ...defaultConfig, ...base, device: 'auto' });
    expect(resolveEngineConfig({ device: 'auto', batchSize: 5 }).batchSize).toBe(5); // the caller's setting stands
  });
});

describe('the setting groups', () => {
  it('are the engine\'s, the content\'s and the volume\'s, each setting in exactly one', () => {
    const all = [...ENGINE_SETTINGS, ...CONTENT_SETTINGS, ...VOLUME_SETTINGS];
    expect(new Set(all).size).toBe(all.length);
    expect(new Set(all)).toEqual(new Set([...Object.keys(defaultConfig), 'input', 'output', 'staging', 'model']));
  });

  it('hash the default content settings as before the groups, so published volumes still read as unchanged', () => {
    // The marker's configSha256 of every volume published with the defaults: changing the content
    // settings' order or serialisation would make every rerun process its volume again.
    expect(contentConfigSha256(resolveConfig(base))).toBe('1e139ca80dde064c515eddb46663948325fce8d6194cc897e79f5ee1b9f3ca8f');
    expect(contentConfigSha256(resolveEngineConfig())).toBe(contentConfigSha256(resolveConfig({ ...base, batchSize: 3, inflightPages: 2 })));
  });

  it('an engine config has no volume settings and refuses one, naming it', () => {
    const engine = resolveEngineConfig({ device: 'cuda' });
    expect(Object.keys(engine).filter((key) => (VOLUME_SETTINGS as readonly string[]).includes(key))).toEqual([]);
    expect(engine).toMatchObject({ inferWorkers: 1, batchSize: 32 });
    expect(() => resolveEngineConfig({ inflightPages: 4 } as never)).toThrow(/^config\.inflightPages is a volume's setting, not an engine's/);
    expect(() => resolveEngineConfig({ batchSize: 0 })).toThrow(/^config\.batchSize must be an integer >= 1, got 0$/);
    expect(() => resolveEngineConfig({ patchSize: 500 })).toThrow(/^config\.patchSize must be a multiple of 32/);
  });

  it('splits a partial config by owner and refuses a key that is not a setting', () => {
    expect(splitSettings({ batchSize: 4, maxPasses: 1, inflightPages: 2, staging: 's/' })).toEqual({ engine: { batchSize: 4, maxPasses: 1 }, volume: { inflightPages: 2, staging: 's/' } });
    expect(() => splitSettings({ batchsize: 4 } as never)).toThrow(/^config\.batchsize is not a setting/);
  });
});

describe('config.model', () => {
  it('names the model an engine starts with when no adapter is given; a volume on that engine must ask for its content settings', async () => {
    const cfg = resolveConfig({ ...base, model: 'tiny', inferWorkers: 1, decodeWorkers: 1, transformWorkers: 1 });
    const engine = await VolumeEngine.create(cfg);
    try {
      expect(engine.adapter.name).toBe('tiny-ink');
      // Its table would be made with the engine's settings while its marker hashed its own.
      const other = new VolumeWorker({ ...cfg, maxPasses: 1 }, undefined, 'v', [], { engine });
      await expect(other.run()).rejects.toThrow(/^volume v asks for other content settings than its engine runs: maxPasses=1 \(engine: 2\);/);
    } finally {
      await engine.close();
    }
  });

  it('is the default detector when unset, and a missing file is a one-line error naming it', async () => {
    expect((await modelAdapter(resolveConfig(base))).name).toBe('ppocr-v4-det');
    await expect(modelAdapter(resolveConfig({ ...base, model: '/nowhere/model.onnx' }))).rejects.toThrow('config.model: no such file /nowhere/model.onnx');
  });

  it('adapterOf is the one picker: an adapter as it is, a name as modelAdapter reads it', async () => {
    const cfg = resolveConfig(base);
    const own = { ...tinyAdapter(cfg), name: 'own' };
    expect(await adapterOf(own, cfg)).toBe(own);
    expect((await adapterOf('tiny', cfg)).name).toBe('tiny-ink');
    expect((await adapterOf(undefined, cfg)).name).toBe('ppocr-v4-det');
    await expect(adapterOf('/nowhere/model.onnx', cfg)).rejects.toThrow('config.model: no such file /nowhere/model.onnx');
  });
});
