/**
 * `npm run bench -- [--pages N] [--model tiny|default] [--runs K] [--config JSON] [--memory-pages A,B] [--memory-runs K] [--no-memory] [--json]`
 *
 * Measures the volume pipeline against s3rver on loopback with a generated volume (the demo mix)
 * and prints one JSON object (the last line with --json): pipeline vs the model alone (same patches,
 * both passes, from memory) vs a plain page-by-page loop, peak RSS of a small and a big volume in
 * fresh processes, the weighted merge's lane waits, batch fill, and per-stage busy/backpressure time
 * with the bottleneck named. Every figure is the median of `--runs` runs; the load average is
 * recorded because other work shares the cores.
 */
import { cpus, loadavg } from 'node:os';
import { openLocation, resolveConfig, modelAdapter, VolumeEngine } from '../src';
import { UsageError } from '../src/cli/args';
import { BENCH_USAGE, parseBenchArgs, type BenchOptions } from './args';
import { startBenchS3, writeBenchVolume, type BenchS3 } from './fixture';
import { measureMemory } from './memory';
import type { MemoryFigure } from './memoryChild';
import type { BatchTask } from '../src/infer/batchedModel';
import { ModelOnly } from './modelOnly';
import { runPipeline, type PipelineRun } from './pipeline';
import { runSequential, type SequentialRun } from './sequential';
import { bottleneck, laneFigures, median, medianBy, round, stageFigures } from './summary';

/** Intra-op threads of the sequential loop's single session (the machine's cores, up to 2 measured best). */
const SEQUENTIAL_THREADS = 2;

/** Pages of the untimed first run (straight, skewed, turned: every pool and OpenCV start up). */
const WARMUP_PAGES = 4;

function log(opts: BenchOptions, message: string): void {
  (opts.json ? console.error : console.log)(`[bench] ${message}`);
}

const load = () => loadavg().map((v) => round(v, 2));

async function throughput(opts: BenchOptions, bench: BenchS3) {
  const cfg = resolveConfig({ ...opts.config, input: 's3://scans/throughput/', output: 's3://tables/throughput/' });
  await writeBenchVolume(openLocation(cfg.input, bench.s3), opts.pages);
  const warmup = { ...cfg, input: 's3://scans/warmup/' };
  await writeBenchVolume(openLocation(warmup.input, bench.s3), WARMUP_PAGES);
  const adapter = await modelAdapter({ ...cfg, model: opts.model });
  const engine = await VolumeEngine.create(cfg, adapter);
  const model = await ModelOnly.start(cfg, adapter);
  const pipeline: PipelineRun[] = [];
  const sequential: SequentialRun[] = [];
  const modelOnly: ModelOnlyRun[] = [];
  try {
    await runPipeline(engine, warmup, bench.s3, 'warmup');
    let batches: BatchTask[] = [];
    // Interleaved, so that the three figures of a round share the machine's load of the moment.
    for (let k = 0; k < opts.runs; k++) {
      pipeline.push(await runPipeline(engine, cfg, bench.s3, `pipeline-${k}`, bench.server.pid));
      log(opts, `pipeline run ${k + 1}/${opts.runs}: ${round(pipeline[k].pagesPerSec)} pages/s (load ${load().join(' ')})`);
      sequential.push(await runSequential(engine, cfg, bench.s3, `sequential-${k}`, SEQUENTIAL_THREADS));
      log(opts, `sequential run ${k + 1}/${opts.runs}: ${round(sequential[k].pagesPerSec)} pages/s`);
      // The first run's patches (both passes) feed the model-only figure; later runs' are dropped.
      if (k === 0) batches = model.pack(sequential[0].patchSets);
      sequential[k].patchSets.length = 0;
      const { seconds, patches, cpuSeconds } = await model.run(batches);
      modelOnly.push({ pagesPerSec: sequential[0].pages / seconds, patchesPerSec: patches / seconds, patches, cpuSecondsPerPage: cpuSeconds / sequential[0].pages });
      log(opts, `model-only run ${k + 1}/${opts.runs}: ${round(modelOnly[k].pagesPerSec)} pages/s, ${round(modelOnly[k].patchesPerSec)} patches/s`);
    }
  } finally {
    await Promise.all([engine.close(), model.close()]);
  }
  return { cfg, pipeline, sequential, modelOnly };
}

interface ModelOnlyRun {
  pagesPerSec: number;
  patchesPerSec: number;
  patches: number;
  cpuSecondsPerPage: number;
}

/**
 * Where the cores went: CPU seconds a page costs in the pipeline (this process's threads and the S3
 * server) and in the model alone (on `cfg.device`: on a GPU, the CPU it takes to drive it), the
 * core-seconds a page costs outside the model (the pipeline's own process less the model-only
 * figure: decode, packing, stitching, summaries with the direction classifier, transforms, second
 * passes, the main thread and GC), how busy the pipeline kept the cores, and the ratioModel the
 * pipeline's CPU work allows at best on this machine (every core busy all the time:
 * cores / pipeline CPU per page, over model-only pages/s).
 */
function cpuFigures(pipeline: PipelineRun[], modelOnly: ModelOnlyRun[], cores: number) {
  const perPage = (r: PipelineRun) => (r.cpu.self + (r.cpu.server ?? 0)) / r.pages;
  const pipelinePerPage = median(pipeline.map(perPage));
  const serverPerPage = median(pipeline.map((r) => (r.cpu.server ?? NaN) / r.pages));
  const modelOnlyPerPage = median(modelOnly.map((r) => r.cpuSecondsPerPage));
  const selfPerPage = median(pipeline.map((r) => r.cpu.self / r.pages));
  return {
    cores,
    pipelineCpuSecondsPerPage: round(pipelinePerPage, 3),
    s3ServerCpuSecondsPerPage: round(serverPerPage, 3),
    modelOnlyCpuSecondsPerPage: round(modelOnlyPerPage, 3),
    outsideModelCoreSecondsPerPage: round(selfPerPage - modelOnlyPerPage, 3),
    outsideModelCpuShare: round(1 - modelOnlyPerPage / pipelinePerPage, 3),
    pipelineCoreUse: round(median(pipeline.map((r) => (perPage(r) * r.pages) / (r.seconds * cores))), 3),
    ratioModelCeiling: round(cores / pipelinePerPage / median(modelOnly.map((r) => r.pagesPerSec)), 3),
  };
}

/**
 * Peak RSS of the two volume sizes with each model (tiny and default), each run in a fresh child
 * process at the default settings, `memoryRuns` times. The pages are small (one patch each) so that
 * 2000 of them run in minutes; what could grow with the volume's length (rows, manifests, stats)
 * does not depend on the page size, and what the model's threads hold does not depend on it either.
 */
async function memory(opts: BenchOptions, bench: BenchS3) {
  const [small, big] = opts.memoryPages;
  const sizes = [small, big];
  for (const n of sizes) await writeBenchVolume(openLocation(`s3://scans/memory-${n}/`, bench.s3), n, 'small');
  const models = ['tiny', 'default'] as const;
  const figures = new Map<string, MemoryFigure[]>();
  for (let k = 0; k < opts.memoryRuns; k++) {
    for (const model of models) {
      for (const n of sizes) {
        const job = { endpoint: bench.server.endpoint, input: `s3://scans/memory-${n}/`, output: 's3://tables/memory/', volumeId: `memory-${model}-${n}-${k}`, model };
        const figure = await measureMemory(job);
        figures.set(`${model}-${n}`, [...(figures.get(`${model}-${n}`) ?? []), figure]);
        log(opts, `memory run ${k + 1}/${opts.memoryRuns}, ${model} model, ${n} pages: peak RSS ${round(figure.peakRssMb, 0)} MB, VmHWM ${round(figure.vmHwmMb, 0)} MB, ${round(figure.pages / figure.seconds)} pages/s`);
      }
    }
  }
  const runsOf = (model: string, n: number) => figures.get(`${model}-${n}`) ?? [];
  const peak = (model: string, n: number) => median(runsOf(model, n).map((f) => Math.max(f.peakRssMb, f.vmHwmMb)));
  const byModel = (model: string) => ({
    [`rss${small}Mb`]: round(peak(model, small), 0),
    [`rss${big}Mb`]: round(peak(model, big), 0),
    rssRatio: round(peak(model, big) / peak(model, small), 3),
    bigVolume: {
      pagesPerSec: round(median(runsOf(model, big).map((f) => f.pages / f.seconds))),
      lanes: medianBy(runsOf(model, big).map((f) => f.lanes), 'lane'),
      batchFill: round(median(runsOf(model, big).map((f) => f.batchFill)), 3),
    },
  });
  return {
    runs: opts.memoryRuns,
    pages: sizes,
    pageSize: 'small (310×438, one patch a page)',
    tiny: byModel('tiny'),
    default: byModel('default'),
  };
}

async function main(): Promise<void> {
  const opts = parseBenchArgs(process.argv.slice(2));
  if (opts.help) {
    console.log(BENCH_USAGE);
    return;
  }
  const loadBefore = load();
  log(opts, `${opts.pages} pages, ${opts.model} model, ${opts.runs} runs, load ${loadBefore.join(' ')}`);
  const bench = await startBenchS3();
  try {
    const { cfg, pipeline, sequential, modelOnly } = await throughput(opts, bench);
    const pipelinePagesPerSec = median(pipeline.map((r) => r.pagesPerSec));
    const sequentialPagesPerSec = median(sequential.map((r) => r.pagesPerSec));
    const modelOnlyPagesPerSec = median(modelOnly.map((r) => r.pagesPerSec));
    const stages = medianBy(pipeline.map((r) => stageFigures(r.stats, r.seconds * 1000)), 'stage');
    const lanes = medianBy(pipeline.map((r) => laneFigures(r.stats)), 'lane');
    const lane = (name: string) => lanes.find((l) => l.lane === name);
    const mem = opts.skipMemory ? undefined : await memory(opts, bench);
    const result = {
      machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version, loadavgBefore: loadBefore, loadavgAfter: load() },
      model: opts.model,
      pages: opts.pages,
      runs: opts.runs,
      statistic: 'median',
      overrides: opts.config,
      config: {
        device: cfg.device, inferWorkers: cfg.inferWorkers, batchesInFlight: cfg.batchesInFlight, inferThreads: cfg.inferThreads, batchSize: cfg.batchSize,
        analysisWorkers: cfg.analysisWorkers, decodeWorkers: cfg.decodeWorkers, transformWorkers: cfg.transformWorkers, inflightPages: cfg.inflightPages, batcherSlots: cfg.batcherSlots,
      },
      modelOnlyPagesPerSec: round(modelOnlyPagesPerSec),
      modelOnlyPatchesPerSec: round(median(modelOnly.map((r) => r.patchesPerSec))),
      patchesPerVolume: modelOnly[0]?.patches,
      pipelinePagesPerSec: round(pipelinePagesPerSec),
      sequentialPagesPerSec: round(sequentialPagesPerSec),
      ratioModel: round(pipelinePagesPerSec / modelOnlyPagesPerSec, 3),
      ratioSequential: round(pipelinePagesPerSec / sequentialPagesPerSec, 3),
      cpu: cpuFigures(pipeline, modelOnly, cpus().length),
      transformed: pipeline[0]?.transformed,
      lanes,
      reprocessP95OverInitialP95: round((lane('reprocess')?.p95Ms ?? NaN) / (lane('initial')?.p95Ms ?? NaN), 3),
      batchFill: round(median(pipeline.map((r) => r.stats.batchFill)), 3),
      stages,
      bottleneck: bottleneck(stages),
      memory: mem,
      runsDetail: {
        pipelinePagesPerSec: pipeline.map((r) => round(r.pagesPerSec)),
        sequentialPagesPerSec: sequential.map((r) => round(r.pagesPerSec)),
        modelOnlyPagesPerSec: modelOnly.map((r) => round(r.pagesPerSec)),
      },
    };
    if (opts.json) console.log(JSON.stringify(result));
    else console.log(JSON.stringify(result, null, 2));
  } finally {
    await bench.stop();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = err instanceof UsageError ? 2 : 1;
});
