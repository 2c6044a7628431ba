import { join, resolve } from 'node:path';
import { resolveConfig } from '../../config';
import { demoPages, writeDemoVolume } from '../../demoVolume';
import { modelAdapter } from '../../model/adapter';
import { S3Context } from '../../s3/context';
import { s3ClientConfigFor, startLocalS3Server } from '../../s3/localS3Server';
import { openLocation } from '../../store';
import type { Flags } from '../args';
import { EXIT, type CliIO } from '../command';
import { publishSettings } from '../flags';
import { printSummary, say } from '../output';
import { runVolume, writeVolumeReport, type VolumeJob } from '../runVolume';
import { jsonSummary, summaryRows } from '../summary';

const VOLUME = 'demo-volume';

/** `rxvolume demo` (see `commands/demo.ts`): the whole pipeline on a synthetic volume in a local S3 server. */
export async function demo(f: Flags, io: CliIO): Promise<number> {
  const pageCount = f.int('pages') ?? 24;
  const out = resolve(f.string('out') ?? 'rxvolume-demo');
  const json = f.bool('json');
  say(io, json, `starting a local S3 server (s3rver) ...`);
  const server = await startLocalS3Server({ buckets: ['scans'] });
  const s3 = new S3Context(s3ClientConfigFor(server.endpoint));
  try {
    const cfg = resolveConfig({ input: `s3://scans/${VOLUME}/`, output: out, images: 'jpeg', ...publishSettings(f) });
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
