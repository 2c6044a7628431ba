import { realpath } from 'node:fs/promises';
import { resolveConfig, type PipelineConfig } from '../../config';
import type { S3Context } from '../../s3/context';
import { InputMissingError, checkOutputOutsideInput, openLocation, parseS3Url } from '../../store';
import { readMarker, VOLUME_ID_PATTERN } from '../../store/marker';
import { LocationError } from '../../worker';
import { UsageError, type FlagSpec, type Flags } from '../args';
import { EXIT, type CliIO, type Command } from '../command';
import { imageFlags, imageSettings } from '../images';
import { modelFlag } from '../model';
import { printSummary } from '../output';
import { runVolume, writeVolumeReport, type VolumeJob } from '../runVolume';
import { cliS3Context, isS3Url } from '../s3';
import { jsonSummary, summaryRows } from '../summary';

const flags: FlagSpec[] = [
  { name: 'input', kind: 'string', value: '<s3://bucket/prefix/|dir>', help: "the volume's page images", required: true },
  { name: 'output', kind: 'string', value: '<s3://bucket/prefix/|dir>', help: 'where <volume-id>/_SUCCESS.json and the table it names are published', required: true },
  { name: 'volume-id', kind: 'string', value: '<id>', help: "the volume's id (default: the last path segment of --input); letters, digits, . _ -, starting with a letter or digit" },
  { name: 'endpoint', kind: 'string', value: '<url>', help: 'an S3-compatible endpoint (MinIO, s3rver, ...); path-style requests' },
  { name: 'device', kind: { choices: ['cpu', 'cuda', 'auto'] }, value: '<cpu|cuda|auto>', help: 'inference device (default cpu; auto = cuda when it loads)' },
  { name: 'model', kind: 'string', value: '<path.onnx>', help: 'a text-probability ONNX model (default PP-OCRv4 detector; "tiny" = a tiny generated model, for testing)' },
  { name: 'concurrency', kind: 'int', value: '<n>', help: 'pages in flight at once (default 16 on the CPU, 128 on CUDA)' },
  { name: 'batch-size', kind: 'int', value: '<n>', help: 'patches per inference batch (default 1 on the CPU, 32 on CUDA)' },
  { name: 'max-pixels', kind: 'int', value: '<n>', help: 'refuse images with more pixels than this (default 120000000)' },
  { name: 'retry-seconds', kind: 'int', value: '<s>', help: 'keep retrying an unreachable or throttling S3 endpoint this long per request (default 30)' },
  { name: 'allow-empty', kind: 'bool', help: 'publish an empty table when --input holds no page images (refused by default)' },
  ...imageFlags('off'),
  { name: 'report', kind: 'string', value: '<file.html>', help: 'also write an HTML report of the run there' },
  { name: 'json', kind: 'bool', help: 'print the result as one JSON line (the last line of stdout), no progress' },
];

/** The last path segment of a location URL or directory (`s3://b/scans/vol_A/` → `vol_A`). */
export function volumeIdOf(input: string): string | undefined {
  const path = isS3Url(input) ? input.replace(/^s3:\/\/[^/]*\/?/, '') : input;
  return path.split(/[\\/]/).filter((s) => s !== '').pop();
}

/** Throws a UsageError naming `--flag` when `url` is neither `s3://bucket/...` nor a local directory. */
function checkLocation(flag: string, url: string): void {
  if (isS3Url(url) && !/^s3:\/\/[^/]+/.test(url)) throw new UsageError(`--${flag} needs a bucket: s3://bucket/prefix/, got "${url}"`);
  try {
    if (!parseS3Url(url)) openLocation(url);
  } catch (err) {
    throw new UsageError(`--${flag}: ${(err as Error).message}`);
  }
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
    ...(f.has('max-pixels') ? { maxInputPixels: f.int('max-pixels') } : {}),
    ...(f.bool('allow-empty') ? { allowEmpty: true } : {}),
    ...imageSettings(f),
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

async function run(f: Flags, io: CliIO): Promise<number> {
  checkLocation('input', f.string('input') as string);
  checkLocation('output', f.string('output') as string);
  const explicitId = f.string('volume-id');
  if (explicitId !== undefined && !VOLUME_ID_PATTERN.test(explicitId)) {
    throw new UsageError(`--volume-id must be one path segment of letters, digits, ".", "_" and "-", starting with a letter or digit, got "${explicitId}"`);
  }
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

/** `rxvolume run`: one volume from an input location to a published table. */
export const runCommand: Command = {
  name: 'run',
  summary: 'process one volume: page images in S3 or a folder -> published Parquet table',
  usage: 'rxvolume run --input <s3://bucket/prefix/|dir> --output <s3://bucket/prefix/|dir> [flags]',
  details:
    'Publishes <output>/<volume-id>/part-00000-<attempt>.parquet (with --images, also each ok page\'s corrected\n' +
    'image under <output>/<volume-id>/pages/<attempt>/) and then _SUCCESS.json, which names them. A volume\n' +
    'already published from the same inputs, models, content settings and analysis version is skipped. S3\n' +
    'credentials and region come from the AWS SDK default chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY,\n' +
    'AWS_PROFILE, SSO, instance role; AWS_REGION).\n' +
    'Exit codes: 0 published or skipped (error rows included; a failed --report is a warning), 1 failed (nothing\n' +
    'published: missing or empty input, unreachable store, full disk, ...), 2 bad arguments, 130 interrupted.',
  flags,
  run,
};
