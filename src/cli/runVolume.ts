import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { PipelineConfig } from '../config';
import { VolumeEngine } from '../engine';
import type { ModelAdapter } from '../model/adapter';
import { ReportCollector, renderReport } from '../report';
import type { S3Context } from '../s3/context';
import { openLocation } from '../store';
import { VolumeWorker, type VolumeResult } from '../worker';
import { Interrupted, type CliIO } from './command';
import { ProgressBar, mergeLanes } from './progress';

export interface VolumeJob {
  cfg: PipelineConfig;
  s3?: S3Context;
  volumeId: string;
  adapter: ModelAdapter;
  /** Collect the pages for an HTML report (written by `writeVolumeReport`). */
  report: boolean;
  /** Draw a progress bar on stderr. */
  progress: boolean;
}

/** A finished run, with the collected pages when a report was asked for. */
export interface VolumeRun {
  result: VolumeResult;
  collector?: ReportCollector;
}

/**
 * Runs one volume with a VolumeWorker, drawing progress on a TTY; Ctrl-C cancels it cleanly. The
 * engine (thread pools, ONNX sessions) is closed before this returns, so the process can exit.
 */
export async function runVolume(job: VolumeJob, io: CliIO): Promise<VolumeRun> {
  const engine = await VolumeEngine.create(job.cfg, job.adapter);
  try {
    return await runOn(engine, job, io);
  } finally {
    await engine.close();
  }
}

async function runOn(engine: VolumeEngine, job: VolumeJob, io: CliIO): Promise<VolumeRun> {
  const { cfg, s3, volumeId } = job;
  const worker = new VolumeWorker(cfg, s3, volumeId, undefined, { engine });
  const collector = job.report ? new ReportCollector(worker.pages$) : undefined;
  const bar = job.progress ? new ProgressBar(io.stderr) : undefined;
  if (bar) {
    const started = Date.now();
    worker.stats$.subscribe((snapshot) =>
      bar.update({ done: worker.done, total: worker.inputs, errors: worker.errors, elapsedMs: Date.now() - started, lanes: mergeLanes(snapshot) }),
    );
  }
  try {
    return { result: await worker.run({ signal: io.signal }), collector };
  } catch (err) {
    if (io.signal.aborted) throw new Interrupted();
    throw err;
  } finally {
    bar?.clear();
  }
}

/** Writes the HTML report of a finished run to `file` (a local path). */
export async function writeVolumeReport(run: VolumeRun, job: VolumeJob, summary: Array<[string, string]>, file: string): Promise<void> {
  const pages = run.collector ? await run.collector.pages(openLocation(job.cfg.input, job.s3), openLocation(job.cfg.output, job.s3)) : [];
  const note = run.result.status === 'skipped' ? 'The volume was already published from the same inputs, model and config; no pages were processed in this run.' : undefined;
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, renderReport({ volumeId: job.volumeId, summary, pages, note }));
}
