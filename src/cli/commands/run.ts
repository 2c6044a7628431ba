import { VOLUME_ID_PATTERN } from '../../store/marker';
import type { Command } from '../command';
import { deviceFlag, endpointFlag, jsonFlag, locationFlag, modelFlagSpec, publishFlags } from '../flags';

/** `rxvolume run`: one volume from an input location to a published table (the code: `actions/run.ts`). */
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
  flags: [
    locationFlag('input', "the volume's page images"),
    locationFlag('output', 'where <volume-id>/_SUCCESS.json and the table it names are published'),
    {
      name: 'volume-id',
      kind: 'string',
      value: '<id>',
      help: "the volume's id (default: the last path segment of --input); letters, digits, . _ -, starting with a letter or digit",
      check: (raw) => (VOLUME_ID_PATTERN.test(raw) ? undefined : 'must be one path segment of letters, digits, ".", "_" and "-", starting with a letter or digit'),
    },
    endpointFlag,
    deviceFlag,
    modelFlagSpec,
    { name: 'concurrency', kind: 'int', value: '<n>', help: 'pages in flight at once (default 16 on the CPU, 128 on CUDA)' },
    { name: 'batch-size', kind: 'int', value: '<n>', help: 'patches per inference batch (default 1 on the CPU, 32 on CUDA)' },
    { name: 'retry-seconds', kind: 'int', value: '<s>', help: 'keep retrying an unreachable or throttling S3 endpoint this long per request (default 30)' },
    ...publishFlags,
    { name: 'report', kind: 'string', value: '<file.html>', help: 'also write an HTML report of the run there' },
    jsonFlag,
  ],
  run: async (f, io) => (await import('../actions/run')).run(f, io),
};
