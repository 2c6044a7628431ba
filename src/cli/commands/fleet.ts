import type { Command } from '../command';
import { deviceFlag, endpointFlag, jsonFlag as runJsonFlag, locationFlag, modelFlagSpec, publishFlags, queueFlag, redisFlag } from '../flags';

const jsonFlag = { ...runJsonFlag, help: 'print the result as one JSON line (the last line of stdout)' };

/** `rxvolume enqueue`: one job per volume (sub-prefix) of --input; re-enqueueing the same volume is a no-op (the code: `actions/fleet.ts`). */
export const enqueueCommand: Command = {
  name: 'enqueue',
  summary: 'add one queue job per volume (sub-prefix) of an input prefix',
  usage: 'rxvolume enqueue --input <s3://bucket/prefix/|dir> --output <s3://bucket/prefix/|dir> [--redis URL] [flags]',
  details:
    'Job id = volume id + input manifest hash + output, model and content settings: enqueueing an unchanged\n' +
    'volume for the same output and model again adds nothing. Local paths are made absolute. Redis must answer\n' +
    'within 5 s, or the command exits 1. --max-pixels, --images and --image-quality go with each job: a worker\n' +
    'started with other values fails the job, with the reason (start workers with the same flags).',
  flags: [
    locationFlag('input', 'each sub-prefix / sub-directory is one volume'),
    locationFlag('output', 'where every volume is published'),
    { ...modelFlagSpec, help: 'the model the volumes are to be run with (default PP-OCRv4 detector; workers must run the same)' },
    ...publishFlags,
    redisFlag,
    queueFlag,
    endpointFlag,
    jsonFlag,
  ],
  run: async (f, io) => (await import('../actions/fleet')).enqueue(f, io),
};

/** `rxvolume worker`: runs queued volumes until SIGTERM (the volumes in progress finish first). */
export const workerCommand: Command = {
  name: 'worker',
  summary: 'take volume jobs from the queue and run them until SIGTERM',
  usage: 'rxvolume worker [--redis URL] [--volumes-per-process N] [--device cpu|cuda|auto] [--model PATH] [flags]',
  details:
    'One engine (thread pools, model sessions) per process, shared by its volumes. SIGTERM/Ctrl-C: the\n' +
    "volumes in progress finish and publish, then the process exits 0. A killed worker's volume is taken\n" +
    'over by another worker once its lock runs out (30 s) and published exactly once. Exits 1 when Redis does\n' +
    'not answer within 5 s. --max-pixels, --images and --image-quality apply to every volume; a job enqueued\n' +
    'with other values fails, with the reason. --allow-empty applies to jobs not enqueued with it.',
  flags: [
    redisFlag,
    queueFlag,
    { name: 'volumes-per-process', kind: 'int', value: '<n>', help: 'volumes run at once by this process (default 1)' },
    deviceFlag,
    modelFlagSpec,
    ...publishFlags,
    endpointFlag,
  ],
  run: async (f, io) => (await import('../actions/fleet')).worker(f, io),
};

/** `rxvolume status`: the queue's counts and each volume's state. */
export const statusCommand: Command = {
  name: 'status',
  summary: 'show waiting / active / completed / failed volumes of the queue',
  usage: 'rxvolume status [--redis URL] [--json]',
  flags: [redisFlag, queueFlag, jsonFlag],
  run: async (f, io) => (await import('../actions/fleet')).status(f, io),
};
