import type { Command } from '../command';
import { imageFlags, jsonFlag } from '../flags';

/** `rxvolume demo`: the whole pipeline on a synthetic volume in a local S3 server (the code: `actions/demo.ts`). */
export const demoCommand: Command = {
  name: 'demo',
  summary: 'run the pipeline on a generated volume read from a local S3 server (s3rver), publish it into a folder and write an HTML report',
  usage: 'rxvolume demo [--pages N] [--out DIR] [--images FORMAT] [--json]',
  details:
    'Starts s3rver on 127.0.0.1 (random port), writes N synthetic pages (straight, skewed, turned, curled and one\n' +
    'corrupt file), runs them through the default model (PP-OCRv4 text detector) and publishes the volume into\n' +
    'DIR as `rxvolume run --output DIR` would: DIR/demo-volume/_SUCCESS.json names the table\n' +
    '(demo-volume/part-00000-<attempt>.parquet) and the corrected page images (demo-volume/pages/<attempt>/,\n' +
    'unless --images off), keys relative to DIR; a rerun replaces the earlier attempt. The report is\n' +
    'DIR/report.html. The server is stopped at the end.',
  flags: [
    { name: 'pages', kind: 'int', value: '<n>', help: 'pages in the synthetic volume (default 24)' },
    { name: 'out', kind: 'string', value: '<dir>', help: 'the output folder: the volume is published to DIR/demo-volume/ as `rxvolume run --output DIR` would, plus DIR/report.html (default ./rxvolume-demo)' },
    ...imageFlags('jpeg'),
    jsonFlag,
  ],
  run: async (f, io) => (await import('../actions/demo')).demo(f, io),
};
