import { join, resolve } from 'node:path';
import { resolveConfig } from '../../config';
import { demoPages, writeDemoVolume } from '../../demoVolume';
import { modelAdapter } from '../../model/adapter';
import { S3Context } from '../../s3/context';
import { s3ClientConfigFor, startLocalS3Server } from '../../s3/localS3Server';
import { openLocation } from '../../store';
import type { FlagSpec, Flags } from '../args';
import { EXIT, type CliIO, type Command } from '../command';
import { imageFlags, imageSettings } from '../images';
import { printSummary, say } from '../output';
import { runVolume, writeVolumeReport, type VolumeJob } from '../runVolume';
import { jsonSummary, summaryRows } from '../summary';

const flags: FlagSpec[] = [
  { name: 'pages', kind: 'int', value: '<n>', help: 'pages in the synthetic volume (default 24)' },
  { name: 'out', kind: 'string', value: '<dir>', help: 'the output folder: the volume is published to DIR/demo-volume/ as `rxvolume run --output DIR` would, plus DIR/report.html (default ./rxvolume-demo)' },
  ...imageFlags('jpeg'),
  { name: 'json', kind: 'bool', help: 'print the result as one JSON line (the last line of stdout), no progress' },
];

const VOLUME = 'demo-volume';

async function demo(f: Flags, io: CliIO): Promise<number> {
  const pageCount = f.int('pages') ?? 24;
  const out = resolve(f.string('out') ?? 'rxvolume-demo');
  const json = f.bool('json');
  say(io, json, `starting a local S3 server (s3rver) ...`);
  const server = await startLocalS3Server({ buckets: ['scans'] });
  const s3 = new S3Context(s3ClientConfigFor(server.endpoint));
  try {
    const cfg = resolveConfig({ input: `s3://scans/${VOLUME}/`, output: out, images: 'jpeg', ...imageSettings(f) });
    say(io, json, `writing ${pageCount} synthetic pages to ${cfg.input} on ${server.endpoint} ...`);
    await writeDemoVolume(openLocation(cfg.input, s3), demoPages(pageCount));
    const adapter = await modelAdapter(cfg);
    const job: VolumeJob = { cfg, s3, volumeId: VOLUME, adapter, report: true, progress: !json && io.stderr.isTTY === true };
    say(io, json, `running the volume with ${adapter.name} ...`);
    const outcome = await runVolume(job, io);

    const report = join(out, 'report.html');
    const summary = jsonSummary(outcome.result, { report });
    await writeVolumeReport(outcome, job, summaryRows(summary, adapter.name), report);
    printSummary(io, summary, adapter.name, json);
    return EXIT.ok;
  } finally {
    s3.destroy();
    await server.stop();
  }
}

/** `rxvolume demo`: the whole pipeline on a synthetic volume in a local S3 server. */
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
  flags,
  run: demo,
};
