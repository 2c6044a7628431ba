import { resolveConfig, type PipelineConfig } from '../../config';
import { openLocation } from '../../store';
import { UsageError, type FlagSpec, type Flags } from '../args';
import { EXIT, type CliIO, type Command } from '../command';
import { adapterFor } from '../model';
import { printSummary } from '../output';
import { runVolume, writeVolumeReport, type VolumeJob } from '../runVolume';
import { cliS3Context, isS3Url } from '../s3';
import { jsonSummary, summaryRows } from '../summary';

const flags: FlagSpec[] = [
  { name: 'input', kind: 'string', value: '<s3://bucket/prefix/|dir>', help: "the volume's page images", required: true },
  { name: 'output', kind: 'string', value: '<s3://bucket/prefix/|dir>', help: 'where <volume-id>/part-00000.parquet and _SUCCESS.json are published', required: true },
  { name: 'volume-id', kind: 'string', value: '<id>', help: "the volume's id (default: the last path segment of --input)" },
  { name: 'endpoint', kind: 'string', value: '<url>', help: 'an S3-compatible endpoint (MinIO, s3rver, ...); path-style requests' },
  { name: 'device', kind: { choices: ['cpu', 'cuda', 'auto'] }, value: '<cpu|cuda|auto>', help: 'inference device (default cpu; auto = cuda when it loads)' },
  { name: 'model', kind: 'string', value: '<path.onnx>', help: 'a text-probability ONNX model (default PP-OCRv4 detector; "tiny" = a tiny generated model, for testing)' },
  { name: 'concurrency', kind: 'int', value: '<n>', help: 'pages in flight at once (default 16)' },
  { name: 'batch-size', kind: 'int', value: '<n>', help: 'patches per inference batch (default 8)' },
  { name: 'report', kind: 'string', value: '<file.html>', help: 'also write an HTML report of the run there' },
  { name: 'json', kind: 'bool', help: 'print the result as one JSON line (the last line of stdout), no progress' },
];

/** The last path segment of a location URL or directory (`s3://b/scans/vol_A/` → `vol_A`). */
export function volumeIdOf(input: string): string | undefined {
  const path = isS3Url(input) ? input.replace(/^s3:\/\/[^/]*\/?/, '') : input;
  return path.split(/[\\/]/).filter((s) => s !== '' && s !== '.' && s !== '..').pop();
}

/** Throws a UsageError naming `--flag` when `url` is neither `s3://bucket/...` nor a local directory. */
function checkLocation(flag: string, url: string): void {
  if (isS3Url(url)) {
    if (!/^s3:\/\/[^/]+/.test(url)) throw new UsageError(`--${flag} needs a bucket: s3://bucket/prefix/, got "${url}"`);
    return;
  }
  try {
    openLocation(url);
  } catch (err) {
    throw new UsageError(`--${flag}: ${(err as Error).message}`);
  }
}

/** The pipeline config the flags ask for. */
function configOf(f: Flags): PipelineConfig {
  const input = f.string('input') as string;
  const output = f.string('output') as string;
  checkLocation('input', input);
  checkLocation('output', output);
  return resolveConfig({
    input,
    output,
    ...(f.has('device') ? { device: f.string('device') as PipelineConfig['device'] } : {}),
    ...(f.has('concurrency') ? { inflightPages: f.int('concurrency') } : {}),
    ...(f.has('batch-size') ? { batchSize: f.int('batch-size') } : {}),
  });
}

async function run(f: Flags, io: CliIO): Promise<number> {
  const cfg = configOf(f);
  const volumeId = f.string('volume-id') ?? volumeIdOf(cfg.input);
  if (!volumeId) throw new UsageError('--volume-id is needed: --input has no path segment to name the volume after');
  if (!/^[A-Za-z0-9._-]+$/.test(volumeId)) throw new UsageError(`--volume-id may hold letters, digits, ".", "_" and "-" only, got "${volumeId}"`);
  const adapter = await adapterFor(f.string('model'), cfg);
  const json = f.bool('json');
  const s3 = isS3Url(cfg.input) || isS3Url(cfg.output) ? cliS3Context(f.string('endpoint')) : undefined;
  const job: VolumeJob = { cfg, s3, volumeId, adapter, report: f.has('report'), progress: !json && io.stderr.isTTY === true };
  try {
    const outcome = await runVolume(job, io);
    const report = f.string('report');
    const summary = jsonSummary(outcome.result, { report });
    if (report) await writeVolumeReport(outcome, job, summaryRows(summary, adapter.name), report);
    printSummary(io, summary, adapter.name, json);
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
    'Publishes <output>/<volume-id>/part-00000.parquet and then _SUCCESS.json. A volume already published from\n' +
    'the same inputs, model and config is skipped. S3 credentials and region come from the AWS SDK default\n' +
    'chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, SSO, instance role; AWS_REGION).\n' +
    'Exit codes: 0 published or skipped (error rows included), 1 failed (nothing published), 2 bad arguments.',
  flags,
  run,
};
