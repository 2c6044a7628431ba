import { enqueueVolumes, fleetStatus, runFleetConsumer } from '../../fleet';
import { resolveEngineConfig, splitSettings } from '../../config';
import { InputMissingError } from '../../store';
import type { Flags } from '../args';
import { EXIT, Interrupted, type CliIO } from '../command';
import { publishSettings, redisUrlOf } from '../flags';
import { modelFlag } from '../model';
import { cliS3Context, isS3Url } from '../s3';

function connection(f: Flags): { redisUrl: string; queueName?: string } {
  return { redisUrl: redisUrlOf(f), queueName: f.string('queue') };
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

/** `rxvolume enqueue` (see `commands/fleet.ts`): one job per volume (sub-prefix) of --input. */
export async function enqueue(f: Flags, io: CliIO): Promise<number> {
  const input = f.string('input') as string;
  const output = f.string('output') as string;
  const s3 = isS3Url(input) || isS3Url(output) ? cliS3Context(f.string('endpoint')) : undefined;
  try {
    const configOverrides = publishSettings(f);
    const result = await stoppable(io, () => enqueueVolumes({ ...connection(f), input, output, s3, model: f.string('model'), configOverrides, signal: io.signal })).catch((err: unknown) => {
      throw err instanceof InputMissingError ? new Error(`--input ${err.message}`) : err;
    });
    print(io, f, result, [`added     ${result.added.length} volume(s): ${result.added.join(' ')}`, `existing  ${result.existing.length} volume(s)`]);
    return EXIT.ok;
  } finally {
    s3?.destroy();
  }
}

/** `rxvolume worker` (see `commands/fleet.ts`): runs queued volumes until SIGTERM. */
export async function worker(f: Flags, io: CliIO): Promise<number> {
  const device = (f.string('device') ?? 'cpu') as 'cpu' | 'cuda' | 'auto';
  const configOverrides = publishSettings(f);
  const cfg = resolveEngineConfig({ ...splitSettings(configOverrides).engine, device });
  const model = await modelFlag(f.string('model'), cfg);
  const s3 = cliS3Context(f.string('endpoint'));
  try {
    await runFleetConsumer({
      ...connection(f),
      volumesPerProcess: f.has('volumes-per-process') ? f.int('volumes-per-process') : 1,
      device,
      model,
      configOverrides,
      s3,
      signal: io.signal,
      log: (line) => io.stderr.write(`${line}\n`),
    });
    return EXIT.ok;
  } finally {
    s3.destroy();
  }
}

/** `rxvolume status` (see `commands/fleet.ts`): the queue's counts and each volume's state. */
export async function status(f: Flags, io: CliIO): Promise<number> {
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
}
