import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { S3Context, openLocation } from '../src';
import { s3ClientConfigFor, startLocalS3Server } from '../src/demo';
import { demoPages, writeDemoVolume } from '../src/demoVolume';
import { tinyModelPath } from '../src/model/tinyModel';
import { S3ParquetWriter, type Marker } from '../src/stages/parquetWriter';
import { commands } from '../src/cli/commands';
import type { JsonSummary } from '../src/cli/summary';
import { readParquet } from './helpers/duckdb';

import { BIN, cli, watchStderr, type CliRun } from './helpers/cli';

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

/** The `--json` object: the last line of stdout. */
function lastJson<T = JsonSummary>(run: CliRun): T {
  const lines = run.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as T;
}

/** stderr without the AWS SDK's Node-version notice (a process warning the SDK prints on Node < 22). */
function ownStderr(run: CliRun): string[] {
  return run.stderr
    .replace(/\(node:\d+\) Warning: NodeVersionSupportWarning[\s\S]*?to show where the warning was created\)\n/, '')
    .split('\n')
    .filter((l) => l.trim() !== '');
}

const S3ENV = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'rxvolume-cli-'));
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

/**
 * Runs the binary with a preload that prints, as it exits, which of the heavy packages it loaded
 * (from `require.cache`): `{ run, loaded }`.
 */
async function cliLoading(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ run: CliRun; loaded: string[] }> {
  const probe = join(tmp, 'loaded-probe.js');
  await writeFile(
    probe,
    `process.on('exit', () => {
      const heavy = ['sharp', 'onnxruntime-node', '@aws-sdk/client-s3', 'bullmq', 'piscina'];
      const keys = Object.keys(require.cache);
      const loaded = heavy.filter((name) => keys.some((key) => key.includes('/node_modules/' + name + '/')));
      require('node:fs').writeSync(2, 'LOADED ' + JSON.stringify(loaded) + '\\n');
    });\n`,
  );
  const run = await cli(args, { ...env, NODE_OPTIONS: `--require ${probe}` });
  const line = /^LOADED (.*)$/m.exec(run.stderr);
  if (!line) throw new Error(`the probe printed nothing: ${run.stderr}`);
  return { run: { ...run, stderr: run.stderr.replace(line[0], '') }, loaded: JSON.parse(line[1]) as string[] };
}

describe('rxvolume --help', () => {
  it('--help, -h and `help <command>` print the same help of each command, exit 0', async () => {
    for (const { name } of commands) {
      const [long, short, viaHelp] = await Promise.all([cli([name, '--help']), cli([name, '-h']), cli(['help', name])]);
      expect([name, long.code, short.code, viaHelp.code]).toEqual([name, 0, 0, 0]);
      expect(long.stdout).toMatch(new RegExp(`^Usage: rxvolume ${name}`));
      expect(short.stdout).toBe(long.stdout);
      expect(viaHelp.stdout).toBe(long.stdout);
    }
    const unknown = await cli(['help', 'frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command "frobnicate"/);
  });

  it('help, --version and bad arguments load none of sharp, onnxruntime, the AWS SDK, BullMQ or piscina; a command that runs does', async () => {
    const light = [['--version'], ['run', '--help'], ['help', 'worker'], ['demo', '-h'], ['run', '--input', tmp, '--bogus'], ['status', '--redis', 'notaurl'], ['run', '--input', 's3:scans', '--output', tmp]];
    for (const args of light) {
      const { run, loaded } = await cliLoading(args);
      expect([args, run.code === 0 || run.code === 2, loaded]).toEqual([args, true, []]);
    }
    // The probe sees them when the command's code runs (here to fail at once: the input is missing).
    const { run, loaded } = await cliLoading(['run', '--input', join(tmp, 'no-such-input'), '--output', join(tmp, 'out'), '--model', 'tiny']);
    expect(run.code).toBe(1);
    expect(loaded).toEqual(expect.arrayContaining(['sharp', 'onnxruntime-node', '@aws-sdk/client-s3']));
  });

  it('lists the commands at the top level and the flags of each command', async () => {
    const top = await cli(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/^\s+demo\s/m);
    expect(top.stdout).toMatch(/^\s+run\s/m);
    const demo = await cli(['demo', '--help']);
    expect(demo.code).toBe(0);
    for (const flag of ['--pages', '--out', '--json']) expect(demo.stdout).toContain(flag);
    const run = await cli(['run', '--help']);
    expect(run.code).toBe(0);
    for (const flag of ['--input', '--output', '--volume-id', '--endpoint', '--device', '--model', '--concurrency', '--batch-size', '--report', '--json']) {
      expect(run.stdout).toContain(flag);
    }
  });
});

describe('bad arguments', () => {
  const io = () => ['--input', join(tmp, 'in'), '--output', join(tmp, 'out')];
  const cases: Array<[string, () => string[], RegExp]> = [
    ['an unknown flag', () => ['run', ...io(), '--bogus', '1'], /--bogus/],
    ['a missing --input', () => ['run', '--output', join(tmp, 'out')], /--input/],
    ['a bad number', () => ['run', ...io(), '--concurrency', 'many'], /--concurrency/],
    ['zero pages', () => ['demo', '--pages', '0'], /--pages/],
    ['a flag without its value', () => ['run', ...io(), '--batch-size'], /--batch-size/],
    ['a bad device', () => ['run', ...io(), '--device', 'gpu'], /--device/],
    ['an unsupported location', () => ['run', '--input', 'http://example.com/x/', '--output', join(tmp, 'out')], /--input/],
    ['a missing model file', () => ['run', ...io(), '--model', join(tmp, 'no-such-model.onnx')], /--model/],
    ['a positional argument', () => ['run', ...io(), 'extra'], /"extra"/],
    ['an output inside the input (its published images would be read as pages)', () => ['run', '--input', tmp, '--output', join(tmp, 'out')], /--output .* overlaps its input/],
    ['an unknown command', () => ['frobnicate'], /frobnicate/],
    ['a Redis URL that is not one', () => ['status', '--redis', 'notaurl'], /^rxvolume status: --redis must be a Redis URL: redis:\/\/host:port .*got "notaurl"$/],
    ['a Redis URL of another scheme', () => ['worker', '--redis', 'http://127.0.0.1:6379'], /--redis must be a Redis URL/],
    ['an S3 endpoint that is not a URL', () => ['run', ...io(), '--endpoint', 'minio:9000'], /^rxvolume run: --endpoint must be an http:\/\/ or https:\/\/ URL.*got "minio:9000"$/],
    ['an S3 URL without its slashes', () => ['enqueue', '--input', 's3:scans/2026/', '--output', join(tmp, 'out')], /--input needs a bucket: s3:\/\/bucket\/prefix\/, got "s3:scans\/2026\/"/],
    ['an S3 prefix with ".."', () => ['run', '--input', 's3://scans/a/../b/', '--output', join(tmp, 'out')], /--input must not have "\." or "\.\." segments/],
    ['a bad --volume-id', () => ['run', ...io(), '--volume-id', '../up'], /--volume-id must be one path segment/],
  ];
  it.each(cases)('%s exits 2 with one line naming it, no stack trace', async (_, args, names) => {
    const run = await cli(args());
    expect(run.code).toBe(2);
    const lines = ownStderr(run);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(names);
    expect(run.stderr).not.toMatch(/^\s+at /m);
  });

  it('a bad $REDIS_URL exits 2 naming REDIS_URL (not taken as a host name)', async () => {
    const run = await cli(['status'], { REDIS_URL: 'notaurl' });
    expect(run.code).toBe(2);
    expect(ownStderr(run)).toEqual([expect.stringMatching(/^rxvolume status: \$REDIS_URL must be a Redis URL.*got "notaurl" \(or pass --redis\)$/)]);
  });

  it('with --json ends stdout with the error as JSON', async () => {
    const run = await cli(['run', '--output', join(tmp, 'out'), '--json']);
    expect(run.code).toBe(2);
    expect(lastJson<{ error: string; exitCode: number }>(run)).toEqual({ error: expect.stringMatching(/--input/), exitCode: 2 });
  });
});

/** Every file under `dir`, as paths relative to it with `/` separators, sorted. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'))
    .sort();
}

/** A demo output folder's marker and table, read the way a user reads them: the marker's keys relative to DIR. */
async function demoOutput(out: string): Promise<{ marker: Marker; rows: Array<Record<string, unknown>> }> {
  const marker = JSON.parse(await readFile(join(out, 'demo-volume', '_SUCCESS.json'), 'utf8')) as Marker;
  const { rows } = await readParquet(join(out, marker.parquet.key));
  return { marker, rows };
}

describe('rxvolume demo', () => {
  it('publishes a 4-page synthetic volume into DIR as run --output DIR would, its marker and image_keys resolving under DIR, and writes the report', async () => {
    const out = join(tmp, 'demo');
    const run = await cli(['demo', '--pages', '4', '--out', out, '--json']);
    expect(run.code).toBe(0);
    const summary = lastJson(run);
    const { marker, rows } = await demoOutput(out);
    expect(summary).toMatchObject({ volumeId: 'demo-volume', pages: 4, ok: 3, errors: 1, skipped: false, parquet: join(out, marker.parquet.key), marker: join(out, 'demo-volume', '_SUCCESS.json') });
    expect(rows.map((r) => r.key)).toEqual(demoPages(4).map((p) => p.key));
    // The corrupt page's error says what is wrong with the file, found in its bytes.
    const error = rows.find((r) => r.status === 'error')?.error as string;
    expect(error).toBe('corrupt jpeg image: 282 bytes that are not JPEG data at byte 20 (found 0x20 where a marker is due); no scan data (302 bytes)');
    expect(marker).toMatchObject({ volumeId: 'demo-volume', rows: 4, okRows: 3, errorRows: 1, inputs: 4, images: { count: 3 } });
    expect(marker.parquet.bytes).toBe((await stat(summary.parquet)).size);
    expect(summary.images).toBe(join(out, marker.images?.prefix ?? 'no images'));
    const imageKeys = rows.flatMap((r) => (r.image_key === null ? [] : [r.image_key as string]));
    expect(imageKeys).toHaveLength(3);
    for (const key of imageKeys) expect(existsSync(join(out, key))).toBe(true);
    expect(summary.transformed.rotate + summary.transformed.tps).toBe(rows.filter((r) => r.transform !== 'none').length);
    const html = await readFile(join(out, 'report.html'), 'utf8');
    expect(html).toContain('page-0003.jpg');
    expect(html.match(/<svg class="thumb"/g)).toHaveLength(2 * 3);
  });

  it('rerun into the same DIR with other settings, replaces the earlier attempt: only the new table, marker, images and report remain', async () => {
    const out = join(tmp, 'demo-rerun');
    expect((await cli(['demo', '--pages', '3', '--out', out, '--json'])).code).toBe(0);
    const first = await demoOutput(out);
    const rerun = await cli(['demo', '--pages', '2', '--images', 'png', '--out', out, '--json']);
    expect(rerun.code).toBe(0);
    expect(lastJson(rerun)).toMatchObject({ pages: 2, ok: 2, skipped: false });
    const { marker, rows } = await demoOutput(out);
    expect(marker.parquet.key).not.toBe(first.marker.parquet.key);
    const imageKeys = rows.map((r) => r.image_key as string);
    expect(imageKeys.every((k) => k.startsWith(marker.images?.prefix ?? 'no images') && k.endsWith('.png'))).toBe(true);
    expect(await filesUnder(out)).toEqual(['demo-volume/_SUCCESS.json', marker.parquet.key, ...imageKeys, 'report.html'].sort());
  });
});

describe('rxvolume demo interrupted', () => {
  it('stops the volume and the local S3 server on SIGINT and exits 130', async () => {
    const child = spawn(process.execPath, [BIN, 'demo', '--pages', '4', '--out', join(tmp, 'interrupted')], { stdio: ['ignore', 'pipe', 'pipe'] });
    const closed = new Promise<number | null>((resolve) => child.once('close', resolve));
    const stderr = watchStderr(child);
    const port = Number((await stderr.waitFor(/on http:\/\/127\.0\.0\.1:(\d+)/))[1]);
    await stderr.waitFor(/running the volume/);
    expect(await listening(port)).toBe(true);
    child.kill('SIGINT');
    expect(await closed).toBe(130);
    expect(await listening(port)).toBe(false);
    expect(existsSync(join(tmp, 'interrupted', 'demo-volume', '_SUCCESS.json'))).toBe(false);
  });
});

describe('rxvolume run between local folders', () => {
  it('publishes the volume, writes the report, and skips it on a rerun', async () => {
    const input = join(tmp, 'local-in', 'vol_L');
    const output = join(tmp, 'local-out');
    const report = join(tmp, 'local-report.html');
    await writeDemoVolume(openLocation(input), demoPages(3));
    const args = ['run', '--input', input, '--output', output, '--model', 'tiny', '--concurrency', '4', '--batch-size', '4', '--json'];

    const first = await cli([...args, '--report', report]);
    expect(first.code).toBe(0);
    const summary = lastJson(first);
    expect(summary).toMatchObject({ volumeId: 'vol_L', pages: 3, ok: 3, errors: 0, skipped: false, report });
    expect(summary.marker).toBe(join(output, 'vol_L', '_SUCCESS.json'));
    const marker = JSON.parse(await readFile(summary.marker, 'utf8')) as Marker;
    expect(marker).toMatchObject({ volumeId: 'vol_L', rows: 3, model: { name: 'tiny-ink' }, input: input });
    expect(summary.parquet).toBe(join(output, marker.parquet.key));
    expect(marker.parquet.key).toMatch(/^vol_L\/part-00000-[a-z0-9]+-[0-9a-f]+\.parquet$/);
    expect((await readParquet(summary.parquet)).rows.map((r) => r.key)).toEqual(demoPages(3).map((p) => p.key));
    expect(existsSync(report)).toBe(true);

    const again = await cli(args);
    expect(again.code).toBe(0);
    expect(lastJson(again)).toMatchObject({ volumeId: 'vol_L', pages: 3, skipped: true, parquet: summary.parquet });
  });

  it('prints a plain summary without --json when stderr is not a TTY; takes an ONNX file as --model', async () => {
    const input = join(tmp, 'local-in', 'vol_P');
    await writeDemoVolume(openLocation(input), demoPages(2));
    const model = tinyModelPath();
    const run = await cli(['run', '--input', input, '--output', join(tmp, 'local-out'), '--volume-id', 'named', '--model', model]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^volume\s+named$/m);
    expect(run.stdout).toMatch(/^pages\s+2 \(2 ok, 0 errors\)$/m);
    expect(/^model\s+(.+)$/m.exec(run.stdout)?.[1]).toBe(model);
    expect(/^parquet\s+(.+)$/m.exec(run.stdout)?.[1]).toMatch(new RegExp(`^${join(tmp, 'local-out', 'named', 'part-00000-')}.+\\.parquet$`));
    expect(run.stderr).not.toContain('\r');
  });

  it('exits 1 naming --output when its folder cannot be made on a file system that answers ENOENT (/proc), instead of hanging in mkdir -p', async () => {
    const input = join(tmp, 'local-in', 'vol_proc');
    await writeDemoVolume(openLocation(input), demoPages(1));
    const run = await cli(['run', '--input', input, '--output', '/proc/rxvolume-no-such-folder', '--model', 'tiny', '--json']);
    expect(run.code).toBe(1);
    expect(lastJson(run)).toEqual({ error: expect.stringMatching(/^failed: --output \/proc\/rxvolume-no-such-folder.*ENOENT/), exitCode: 1 });
  }, 60_000);
});

describe('rxvolume run against s3rver', () => {
  let server: Awaited<ReturnType<typeof startLocalS3Server>>;
  let s3: S3Context;
  beforeAll(async () => {
    server = await startLocalS3Server({ buckets: ['scans', 'tables'] });
    s3 = new S3Context(s3ClientConfigFor(server.endpoint));
    await writeDemoVolume(openLocation('s3://scans/vol_S/', s3), demoPages(4));
  });
  afterAll(async () => {
    s3.destroy();
    await server.stop();
  });

  const runS3 = (input: string, output: string) =>
    cli(['run', '--input', input, '--output', output, '--endpoint', server.endpoint, '--model', 'tiny', '--json'], S3ENV);

  it('publishes from bucket to bucket, with the corrupt page as an error row, and skips on a rerun', async () => {
    const first = await runS3('s3://scans/vol_S/', 's3://tables/out/');
    expect(first.code).toBe(0);
    const summary = lastJson(first);
    expect(summary).toMatchObject({ volumeId: 'vol_S', pages: 4, ok: 3, errors: 1, skipped: false, marker: 's3://tables/out/vol_S/_SUCCESS.json' });
    const marker = (await S3ParquetWriter.readMarker(openLocation('s3://tables/out/', s3), 'vol_S')) as Marker;
    expect(summary.parquet).toBe(`s3://tables/out/${marker.parquet.key}`);
    const { bytes } = await openLocation('s3://tables/out/', s3).get(marker.parquet.key);
    const { rows } = await readParquet(bytes);
    expect(rows.map((r) => r.status)).toEqual(['ok', 'ok', 'ok', 'error']);

    const again = await runS3('s3://scans/vol_S/', 's3://tables/out/');
    expect(again.code).toBe(0);
    expect(lastJson(again)).toMatchObject({ volumeId: 'vol_S', skipped: true, pages: 4 });
  });

  it('exits 1 with a one-line message and publishes nothing when the input bucket is missing', async () => {
    const run = await runS3('s3://no-such-bucket/vol_M/', 's3://tables/missing/');
    expect(run.code).toBe(1);
    const lines = ownStderr(run);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^rxvolume run: failed: --input s3:\/\/no-such-bucket\/vol_M\/: .*(bucket|NoSuchBucket)/i);
    expect(run.stderr).not.toMatch(/^\s+at /m);
    expect(lastJson<{ exitCode: number }>(run).exitCode).toBe(1);
    const published: string[] = [];
    for await (const page of openLocation('s3://tables/missing/', s3).list({ pageSize: 100 })) published.push(...page.map((e) => e.key));
    expect(published).toEqual([]);
  });

  it('names --output when the output bucket is missing', async () => {
    const run = await runS3('s3://scans/vol_S/', 's3://no-such-tables/out/');
    expect(run.code).toBe(1);
    expect(lastJson<{ error: string }>(run).error).toMatch(/^failed: --output s3:\/\/no-such-tables\/out\/: .*(bucket|NoSuchBucket)/i);
  });
});
