import { spawn } from 'node:child_process';
import { watch } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { S3Context, openLocation, type Location } from '../src';
import { s3ClientConfigFor, startLocalS3Server } from '../src/demo';
import { writeDemoVolume, type DemoPage } from '../src/demoVolume';
import { readMarker, tableIntact, type Marker } from '../src/store/marker';
import { BIN } from './helpers/cli';
import { readParquet } from './helpers/duckdb';

/**
 * Issue 16: the page images are published atomically with the table. `rxvolume run --images` is
 * SIGKILLed at a random moment while it writes its output (between its first write and the end of
 * a whole run: images, table, marker, cleanup; 10 tries on a folder, 10 on s3rver; each try asks for another
 * image quality, so it rewrites the volume instead of skipping it). After every try the marker in
 * place, if any, names a table that is there as written and an image set that is exactly its ok
 * rows' images: all there, whole (they decode), under its own attempt's prefix and nothing else
 * there. A last run completes and leaves only its own attempt (earlier attempts' tables and images
 * removed); a rerun of it is skipped and keeps the images.
 */
const TRIES = 10;
const VOLUME = 'vol';
const S3ENV = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };

const PAGES: DemoPage[] = [
  { key: 'p0.jpg', kind: 'straight', spec: { seed: 1, width: 360, height: 480 } },
  { key: 'p1.jpg', kind: 'skewed', spec: { seed: 2, width: 360, height: 480, skewDeg: 4 } },
  { key: 'p2.png', kind: 'rotated', spec: { seed: 3, width: 360, height: 480, rotate: 90, format: 'png' } },
  { key: 'p3.jpg', kind: 'corrupt' },
];

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  /** From the first write under the watched folder to the end of the process. */
  writingMs: number;
}

/**
 * `rxvolume run` on the tiny model. `watched` is the folder the output's files land in (the output
 * folder, or s3rver's folder of the output bucket); when `killAfterMs` is given the run is
 * SIGKILLed that long after its first write there (if it still runs then).
 */
function run(args: string[], env: NodeJS.ProcessEnv, watched: string, killAfterMs?: number): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'run', ...args, '--model', 'tiny', '--json'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'ignore'] });
    let stdout = '';
    let firstWrite: number | undefined;
    let timer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    const wrote = () => {
      if (firstWrite !== undefined) return;
      firstWrite = Date.now();
      if (killAfterMs !== undefined) timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    };
    const watcher = watch(watched, { recursive: true }, wrote);
    // Node's recursive watch walks new folders; one removed meanwhile (a cleanup) is an ENOENT 'error': a write too.
    watcher.on('error', wrote);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      watcher.close();
      clearTimeout(timer);
      resolve({ code, signal, stdout, writingMs: Date.now() - (firstWrite ?? Date.now()) });
    });
  });
}

async function keysOf(location: Location, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for await (const page of location.child(prefix).list({ pageSize: 1000 })) out.push(...page.map((e) => `${prefix}${e.key}`));
  return out.sort();
}

/** Checks the marker in place (if any) against its table and images; returns it. */
async function checkPublished(output: Location): Promise<Marker | undefined> {
  const marker = await readMarker(output, VOLUME);
  if (!marker) return undefined;
  expect(await tableIntact(output, marker)).toBe(true);
  const { rows } = await readParquet((await output.get(marker.parquet.key)).bytes);
  const images = marker.images as NonNullable<Marker['images']>;
  expect(images).toMatchObject({ prefix: `${VOLUME}/pages/${marker.attemptId}/`, count: marker.okRows });
  const ok = rows.filter((r) => r.status === 'ok');
  expect(ok).toHaveLength(marker.okRows);
  expect(rows.filter((r) => r.status !== 'ok' && r.image_key !== null)).toEqual([]);
  const named = ok.map((r) => String(r.image_key)).sort();
  expect(named.every((key) => key.startsWith(images.prefix))).toBe(true);
  expect(await keysOf(output, images.prefix)).toEqual(named);
  for (const key of named) {
    const meta = await sharp((await output.get(key)).bytes).metadata();
    expect({ key, format: meta.format }).toEqual({ key, format: images.format });
  }
  return marker;
}

async function killAtRandom(input: string, output: string, watched: string, s3: S3Context | undefined, env: NodeJS.ProcessEnv, extra: string[]): Promise<{ killed: number; markers: Set<string> }> {
  const out = openLocation(output, s3);
  const args = (quality: number) => ['--input', input, '--output', output, '--volume-id', VOLUME, '--images', 'webp', '--image-quality', String(quality), ...extra];
  // A whole run, to know how long it writes (images, table, marker, cleanup) before it ends.
  const whole = await run(args(50), env, watched);
  expect(whole.code).toBe(0);
  await checkPublished(out);
  let killed = 0;
  const markers = new Set<string>();
  for (let t = 1; t <= TRIES; t++) {
    const exit = await run(args(50 + t), env, watched, Math.random() * whole.writingMs);
    if (exit.signal === 'SIGKILL') killed++;
    else expect(exit.code).toBe(0);
    const marker = await checkPublished(out);
    expect(marker).toBeDefined();
    markers.add((marker as Marker).attemptId);
  }
  // The last run completes and leaves nothing of earlier attempts; a rerun is skipped and keeps the images.
  const last = await run(args(90), env, watched);
  expect(last.code).toBe(0);
  const marker = (await checkPublished(out)) as Marker;
  // Nothing else: a marker write cut short by a kill leaves a temporary file, which this run removed (its writer is gone).
  const left = await keysOf(out, `${VOLUME}/`);
  expect(left).toEqual([`${VOLUME}/_SUCCESS.json`, marker.parquet.key, ...(await keysOf(out, (marker.images as NonNullable<Marker['images']>).prefix))].sort());
  const again = await run(args(90), env, watched);
  expect(JSON.parse(again.stdout.trim().split('\n').pop() as string)).toMatchObject({ skipped: true });
  expect((await checkPublished(out))?.attemptId).toBe(marker.attemptId);
  return { killed, markers };
}

describe('page images published atomically with the table (SIGKILL at random moments)', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'rxvolume-images-kill-'));
  });
  afterAll(() => rm(tmp, { recursive: true, force: true }));

  it(`on a folder: ${TRIES} kills, every marker's table and images agree; a last run leaves only its own attempt`, async () => {
    const input = join(tmp, 'in', VOLUME);
    await writeDemoVolume(openLocation(input), PAGES);
    await mkdir(join(tmp, 'out'));
    const { killed, markers } = await killAtRandom(input, join(tmp, 'out'), join(tmp, 'out'), undefined, {}, []);
    console.log(`images atomicity on a folder: ${killed}/${TRIES} runs killed, ${markers.size} different attempts published`);
    expect(killed).toBeGreaterThanOrEqual(1);
  }, 600_000);

  it(`on s3rver: ${TRIES} kills, every marker's table and images agree; a last run leaves only its own attempt`, async () => {
    const server = await startLocalS3Server({ buckets: ['scans', 'tables'] });
    const s3 = new S3Context(s3ClientConfigFor(server.endpoint));
    try {
      await writeDemoVolume(openLocation(`s3://scans/${VOLUME}/`, s3), PAGES);
      const { killed, markers } = await killAtRandom(`s3://scans/${VOLUME}/`, 's3://tables/out/', join(server.dir, 'tables'), s3, S3ENV, ['--endpoint', server.endpoint]);
      console.log(`images atomicity on s3rver: ${killed}/${TRIES} runs killed, ${markers.size} different attempts published`);
      expect(killed).toBeGreaterThanOrEqual(1);
    } finally {
      s3.destroy();
      await server.stop();
    }
  }, 600_000);
});
