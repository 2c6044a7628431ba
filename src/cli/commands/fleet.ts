import { enqueueVolumes, fleetStatus, runFleetConsumer } from '../../fleet';
import { resolveEngineConfig } from '../../config';
import { InputMissingError } from '../../store';
import type { FlagSpec, Flags } from '../args';
import { EXIT, type CliIO, type Command } from '../command';
import { modelFlag } from '../model';
import { Interrupted } from '../runVolume';
import { cliS3Context, isS3Url } from '../s3';

const redisFlag: FlagSpec = { name: 'redis', kind: 'string', value: '<redis://host:port>', help: 'the Redis the queue lives in (default redis://127.0.0.1:6379 or $REDIS_URL)' };
const queueFlag: FlagSpec = { name: 'queue', kind: 'string', value: '<name>', help: 'queue name (default rxvolume-volumes)' };
const endpointFlag: FlagSpec = { name: 'endpoint', kind: 'string', value: '<url>', help: 'an S3-compatible endpoint (MinIO, s3rver, ...); path-style requests' };
const jsonFlag: FlagSpec = { name: 'json', kind: 'bool', help: 'print the result as one JSON line (the last line of stdout)' };

function connection(f: Flags): { redisUrl: string; queueName?: string } {
  return { redisUrl: f.string('redis') ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', queueName: f.string('queue') };
}

/** `work`, with a failure caused by Ctrl-C / SIGTERM reported as an interruption (exit 130). */
async function stoppable<T>(io: CliIO, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (io.signal.aborted) throw new Interrupted();
    throw err;
  }
}

function print(io: CliIO, f: Flags, value: object, lines: string[]): void {
  io.stdout.write(f.bool('json') ? `${JSON.stringify(value)}\n` : lines.map((l) => `${l}\n`).join(''));
}

/** `rxvolume enqueue`: one job per volume (sub-prefix) of --input; re-enqueueing the same volume is a no-op. */
export const enqueueCommand: Command = {
  name: 'enqueue',
  summary: 'add one queue job per volume (sub-prefix) of an input prefix',
  usage: 'rxvolume enqueue --input <s3://bucket/prefix/|dir> --output <s3://bucket/prefix/|dir> [--redis URL]',
  details:
    'Job id = volume id + input manifest hash + output, model and content settings: enqueueing an unchanged\n' +
    'volume for the same output and model again adds nothing. Local paths are made absolute. Redis must answer\n' +
    'within 5 s, or the command exits 1.',
  flags: [
    { name: 'input', kind: 'string', value: '<s3://bucket/prefix/|dir>', help: 'each sub-prefix / sub-directory is one volume', required: true },
    { name: 'output', kind: 'string', value: '<s3://bucket/prefix/|dir>', help: 'where every volume is published', required: true },
    { name: 'model', kind: 'string', value: '<path.onnx>', help: 'the model the volumes are to be run with (default PP-OCRv4 detector; workers must run the same)' },
    redisFlag,
    queueFlag,
    endpointFlag,
    jsonFlag,
  ],
  async run(f, io) {
    const input = f.string('input') as string;
    const output = f.string('output') as string;
    const s3 = isS3Url(input) || isS3Url(output) ? cliS3Context(f.string('endpoint')) : undefined;
    try {
      const result = await stoppable(io, () => enqueueVolumes({ ...connection(f), input, output, s3, model: f.string('model'), signal: io.signal })).catch((err: unknown) => {
        throw err instanceof InputMissingError ? new Error(`--input ${err.message}`) : err;
      });
      print(io, f, result, [`added     ${result.added.length} volume(s): ${result.added.join(' ')}`, `existing  ${result.existing.length} volume(s)`]);
      return EXIT.ok;
    } finally {
      s3?.destroy();
    }
  },
};

/** `rxvolume worker`: runs queued volumes until SIGTERM (the volumes in progress finish first). */
export const workerCommand: Command = {
  name: 'worker',
  summary: 'take volume jobs from the queue and run them until SIGTERM',
  usage: 'rxvolume worker [--redis URL] [--volumes-per-process N] [--device cpu|cuda|auto] [--model PATH]',
  details: 'One engine (thread pools, model sessions) per process, shared by its volumes. SIGTERM/Ctrl-C: the\nvolumes in progress finish and publish, then the process exits 0. A killed worker\'s volume is taken\nover by another worker once its lock runs out (30 s) and published exactly once. Exits 1 when Redis does\nnot answer within 5 s.',
  flags: [
    redisFlag,
    queueFlag,
    { name: 'volumes-per-process', kind: 'int', value: '<n>', help: 'volumes run at once by this process (default 1)' },
    { name: 'device', kind: { choices: ['cpu', 'cuda', 'auto'] }, value: '<cpu|cuda|auto>', help: 'inference device (default cpu)' },
    { name: 'model', kind: 'string', value: '<path.onnx>', help: 'a text-probability ONNX model (default PP-OCRv4 detector)' },
    endpointFlag,
  ],
  async run(f, io) {
    const device = (f.string('device') ?? 'cpu') as 'cpu' | 'cuda' | 'auto';
    const cfg = resolveEngineConfig({ device });
    const model = await modelFlag(f.string('model'), cfg);
    const s3 = cliS3Context(f.string('endpoint'));
    try {
      await runFleetConsumer({
        ...connection(f),
        volumesPerProcess: f.has('volumes-per-process') ? f.int('volumes-per-process') : 1,
        device,
        model,
        s3,
        signal: io.signal,
        log: (line) => io.stderr.write(`${line}\n`),
      });
      return EXIT.ok;
    } finally {
      s3.destroy();
    }
  },
};

/** `rxvolume status`: the queue's counts and each volume's state. */
export const statusCommand: Command = {
  name: 'status',
  summary: 'show waiting / active / completed / failed volumes of the queue',
  usage: 'rxvolume status [--redis URL] [--json]',
  flags: [redisFlag, queueFlag, jsonFlag],
  async run(f, io) {
    const status = await stoppable(io, () => fleetStatus(connection(f), io.signal));
    for (const warning of status.warnings) io.stderr.write(`rxvolume status: warning: ${warning}\n`);
    const lines = [
      `waiting ${status.waiting}  active ${status.active} (stalled ${status.stalled})  completed ${status.completed}  failed ${status.failed}  delayed ${status.delayed}`,
      ...status.volumes.map((v) => {
        const progress = v.progress ? ` ${v.progress.done}/${v.progress.total} pages` : '';
        const why = v.failedReason ? `  (${v.failedReason})` : '';
        return `  ${v.volumeId.padEnd(24)} ${v.state.padEnd(10)}${progress}${why}`;
      }),
    ];
    print(io, f, status, lines);
    return EXIT.ok;
  },
};
