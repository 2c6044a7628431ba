/**
 * The fleet consumer as a process: `node dist/src/fleet/consumerMain.js '<options as JSON>'`, where
 * the options are `FleetConsumerOptions` as plain data (`s3` as S3ContextOptions, `model` as `default`,
 * `tiny` or an adapter). Prints `{"ready":true,"pid":<pid>}` on stdout once it takes jobs, logs to
 * stderr, and on SIGTERM or SIGINT finishes the jobs in progress and exits 0 (a second signal
 * ends it at once; its jobs are then put back by the other workers, see README.md, "Running a fleet").
 */
import { runFleetConsumer, type FleetConsumerOptions } from './consumer';

type ConsumerMainOptions = Omit<FleetConsumerOptions, 'signal' | 'onReady' | 'log'>;

async function main(): Promise<void> {
  const arg = process.argv[2];
  if (!arg) throw new Error('usage: consumerMain.js \'{"redisUrl":"redis://127.0.0.1:6379", ...}\'');
  let options: ConsumerMainOptions;
  try {
    options = JSON.parse(arg) as ConsumerMainOptions;
  } catch (err) {
    throw new Error(`the options are not JSON: ${(err as Error).message}`);
  }
  if (typeof options.redisUrl !== 'string') throw new Error('options.redisUrl (a redis:// URL) is required');
  const stop = new AbortController();
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => stop.abort());
  await runFleetConsumer({
    ...options,
    signal: stop.signal,
    onReady: () => process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid })}\n`),
  });
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`rxvolume worker: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
