import { realpath } from 'node:fs/promises';
import { resolveConfig, type PipelineConfig } from '../../config';
import type { S3Context } from '../../s3/context';
import { InputMissingError, checkOutputOutsideInput, openLocation } from '../../store';
import { readMarker, VOLUME_ID_PATTERN } from '../../store/marker';
import { LocationError } from '../../worker';
import { UsageError, type Flags } from '../args';
import { EXIT, type CliIO } from '../command';
import { publishSettings } from '../flags';
import { modelFlag } from '../model';
import { printSummary } from '../output';
import { runVolume, writeVolumeReport, type VolumeJob } from '../runVolume';
import { cliS3Context, isS3Url } from '../s3';
import { jsonSummary, summaryRows } from '../summary';

/** The last path segment of a location URL or directory (`s3://b/scans/vol_A/` → `vol_A`). */
export function volumeIdOf(input: string): string | undefined {
  const path = isS3Url(input) ? input.replace(/^s3:\/\/[^/]*\/?/, '') : input;
  return path.split(/[\\/]/).filter((s) => s !== '').pop();
}

/** A local --input resolved to its real path (links and `..` followed), so the id is taken from what is read; exit 1 when it is missing. */
async function resolveInput(input: string): Promise<string> {
  if (isS3Url(input)) return input;
  return realpath(input).catch((err: NodeJS.ErrnoException) => {
    throw new Error(`--input ${input} ${err.code === 'ENOENT' ? 'does not exist' : `cannot be read: ${err.code ?? err.message}`}`);
  });
}

/** The pipeline config the flags ask for. */
function configOf(f: Flags, input: string): PipelineConfig {
  return resolveConfig({
    input,
    output: f.string('output') as string,
    ...(f.has('device') ? { device: f.string('device') as PipelineConfig['device'] } : {}),
    ...(f.has('concurrency') ? { inflightPages: f.int('concurrency') } : {}),
    ...(f.has('batch-size') ? { batchSize: f.int('batch-size') } : {}),
    ...publishSettings(f),
  });
}

/** A location failure as a message naming the flag (`--input s3://scans/x/: NoSuchBucket ...`). */
function namingFlag(err: unknown): unknown {
  if (err instanceof LocationError) {
    const cause = err.cause instanceof InputMissingError ? err.cause.message.slice(err.cause.url.length + 1) : err.cause.message;
    return new Error(`--${err.side} ${err.url}: ${cause}`);
  }
  return err;
}

/**
 * Refuses to publish over a volume of the same id that was read from another input (two folders
 * both named `vol_A`), unless `--volume-id` names it on purpose.
 */
async function checkSameInput(cfg: PipelineConfig, s3: S3Context | undefined, volumeId: string): Promise<void> {
  const marker = await readMarker(openLocation(cfg.output, s3), volumeId).catch(() => undefined);
  const input = openLocation(cfg.input, s3).url;
  if (marker?.input !== undefined && marker.input !== input) {
    throw new Error(`--output already holds volume ${volumeId} read from ${marker.input}, not ${input}; pass --volume-id to give this one another id (or the same id to replace it)`);
  }
}

/** `rxvolume run` (see `commands/run.ts`): one volume from an input location to a published table. */
export async function run(f: Flags, io: CliIO): Promise<number> {
  const explicitId = f.string('volume-id');
  const asGiven = configOf(f, f.string('input') as string);
  const adapter = await modelFlag(f.string('model'), asGiven);
  const cfg = { ...asGiven, input: await resolveInput(asGiven.input) };
  const volumeId = explicitId ?? volumeIdOf(cfg.input);
  if (!volumeId || !VOLUME_ID_PATTERN.test(volumeId)) {
    throw new UsageError(`--volume-id is needed: the last segment of --input (${JSON.stringify(volumeId ?? '')}) is not a volume id (letters, digits, ".", "_" and "-", starting with a letter or digit)`);
  }
  try {
    checkOutputOutsideInput(cfg.input, cfg.output, volumeId);
  } catch (err) {
    throw new UsageError(`--${(err as Error).message}`);
  }
  const json = f.bool('json');
  const retry = f.has('retry-seconds') ? { retryForMs: (f.int('retry-seconds') as number) * 1000 } : {};
  const s3 = isS3Url(cfg.input) || isS3Url(cfg.output) ? cliS3Context(f.string('endpoint'), retry) : undefined;
  const job: VolumeJob = { cfg, s3, volumeId, adapter, report: f.has('report'), progress: !json && io.stderr.isTTY === true };
  try {
    if (explicitId === undefined) await checkSameInput(cfg, s3, volumeId);
    const outcome = await runVolume(job, io).catch((err: unknown) => Promise.reject(namingFlag(err)));
    const report = f.string('report');
    let reportError: string | undefined;
    if (report) {
      // The table is published: a report that cannot be written is a warning, not a failure.
      await writeVolumeReport(outcome, job, summaryRows(jsonSummary(outcome.result, { report }), adapter.name), report).catch((err: Error) => {
        reportError = `could not write the report ${report}: ${err.message}`;
        io.stderr.write(`rxvolume run: warning: ${reportError} (the table is published)\n`);
      });
    }
    printSummary(io, jsonSummary(outcome.result, reportError ? { reportError } : { report }), adapter.name, json);
    return EXIT.ok;
  } finally {
    s3?.destroy();
  }
}
