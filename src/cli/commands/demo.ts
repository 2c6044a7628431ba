import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { resolveConfig } from '../../config';
import { demoPages, writeDemoVolume } from '../../demoVolume';
import { modelAdapter } from '../../model/adapter';
import { S3Context } from '../../s3/context';
import { s3ClientConfigFor, startLocalS3Server } from '../../s3/localS3Server';
import { openLocation, type Location } from '../../store';
import { keysUnder } from '../../store/marker';
import type { FlagSpec, Flags } from '../args';
import { EXIT, type CliIO, type Command } from '../command';
import { imageFlags, imageSettings } from '../images';
import { printSummary, say } from '../output';
import { runVolume, writeVolumeReport, type VolumeJob } from '../runVolume';
import { jsonSummary, summaryRows } from '../summary';

const flags: FlagSpec[] = [
  { name: 'pages', kind: 'int', value: '<n>', help: 'pages in the synthetic volume (default 24)' },
  { name: 'out', kind: 'string', value: '<dir>', help: 'where the table, marker, report.html and the page images (pages/) are copied (default ./rxvolume-demo)' },
  ...imageFlags('jpeg'),
  { name: 'json', kind: 'bool', help: 'print the result as one JSON line (the last line of stdout), no progress' },
];

const VOLUME = 'demo-volume';

/** Copies an object of `from` into the local file `to`. */
async function download(from: Location, key: string, to: string): Promise<void> {
  const { bytes } = await from.get(key);
  await writeFile(to, bytes);
}

async function demo(f: Flags, io: CliIO): Promise<number> {
  const pageCount = f.int('pages') ?? 24;
  const out = resolve(f.string('out') ?? 'rxvolume-demo');
  const json = f.bool('json');
  say(io, json, `starting a local S3 server (s3rver) ...`);
  const server = await startLocalS3Server({ buckets: ['scans', 'tables'] });
  const s3 = new S3Context(s3ClientConfigFor(server.endpoint));
  try {
    const cfg = resolveConfig({ input: `s3://scans/${VOLUME}/`, output: 's3://tables/published/', images: 'jpeg', ...imageSettings(f) });
    say(io, json, `writing ${pageCount} synthetic pages to ${cfg.input} on ${server.endpoint} ...`);
    await writeDemoVolume(openLocation(cfg.input, s3), demoPages(pageCount));
    const adapter = await modelAdapter(cfg);
    const job: VolumeJob = { cfg, s3, volumeId: VOLUME, adapter, report: true, progress: !json && io.stderr.isTTY === true };
    say(io, json, `running the volume with ${adapter.name} ...`);
    const outcome = await runVolume(job, io);

    await mkdir(out, { recursive: true });
    const files = { parquet: join(out, 'part-00000.parquet'), marker: join(out, '_SUCCESS.json'), report: join(out, 'report.html') };
    const output = openLocation(cfg.output, s3);
    await download(output, outcome.result.marker.parquet.key, files.parquet);
    await download(output, `${VOLUME}/_SUCCESS.json`, files.marker);
    const { images } = outcome.result.marker;
    if (images) {
      await mkdir(join(out, 'pages'), { recursive: true });
      for (const key of await keysUnder(output, images.prefix)) await download(output, key, join(out, 'pages', key.slice(images.prefix.length)));
    }
    const summary = jsonSummary(outcome.result, { ...files, images: join(out, 'pages') });
    await writeVolumeReport(outcome, job, summaryRows(summary, adapter.name), files.report);
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
  summary: 'run the pipeline on a generated volume in a local S3 server (s3rver) and write an HTML report',
  usage: 'rxvolume demo [--pages N] [--out DIR] [--images FORMAT] [--json]',
  details:
    'Starts s3rver on 127.0.0.1 (random port), writes N synthetic pages (straight, skewed, turned, curled and one\n' +
    'corrupt file), runs them through the default model (PP-OCRv4 text detector) and copies the published\n' +
    'part-00000.parquet, _SUCCESS.json, the corrected page images (pages/, unless --images off) and report.html\n' +
    'into DIR. The server is stopped at the end.',
  flags,
  run: demo,
};
