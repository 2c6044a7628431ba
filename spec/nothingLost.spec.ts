import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import sharp from 'sharp';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Context, openLocation } from '../src';
import { s3ClientConfigFor, startLocalS3Server } from '../src/demo';
import { demoPages, writeDemoVolume } from '../src/demoVolume';
import { S3ParquetWriter, type Marker } from '../src/stages/parquetWriter';
import { tableIntact } from '../src/store/marker';
import type { JsonSummary } from '../src/cli/summary';
import { BIN, cli, type CliRun } from './helpers/cli';
import { readParquet } from './helpers/duckdb';

/**
 * `rxvolume run` as a careless or unlucky operator meets it (issue 13): moved and empty inputs,
 * full and read-only disks, hostile volume ids, a report that cannot be written, two volumes with
 * one name. Each case runs the real binary with the tiny model on 1- or 2-page volumes.
 */

type Failure = { error: string; exitCode: number };
const S3ENV = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };

function lastJson<T = JsonSummary>(run: CliRun): T {
  const lines = run.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as T;
}

/** Every file under `dir`, relative, sorted (folders end in `/` when empty). */
async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, rel: string): Promise<void> => {
    const entries = await readdir(d, { withFileTypes: true }).catch(() => []);
    if (entries.length === 0 && rel !== '') out.push(rel);
    for (const e of entries) {
      if (e.isDirectory()) await walk(join(d, e.name), `${rel}${e.name}/`);
      else out.push(`${rel}${e.name}`);
    }
  };
  await walk(dir, '');
  return out.sort();
}

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'rxvolume-lost-'));
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

const run = (input: string, output: string, ...more: string[]) => cli(['run', '--input', input, '--output', output, '--model', 'tiny', '--json', ...more]);

describe('inputs that are not there', () => {
  it('a moved input folder is exit 1 naming --input, and the published table stays', async () => {
    const input = join(tmp, 'moved', 'vol_M');
    const output = join(tmp, 'moved-out');
    await writeDemoVolume(openLocation(input), demoPages(1));
    expect((await run(input, output)).code).toBe(0);
    const before = (await S3ParquetWriter.readMarker(openLocation(output), 'vol_M')) as Marker;

    await rename(input, `${input}-elsewhere`);
    const again = await run(input, output);
    expect(again.code).toBe(1);
    expect(lastJson<Failure>(again)).toEqual({ error: `failed: --input ${input} does not exist`, exitCode: 1 });
    expect(await S3ParquetWriter.readMarker(openLocation(output), 'vol_M')).toEqual(before);
    expect(await tableIntact(openLocation(output), before)).toBe(true);
  });

  it('an empty volume is refused (exit 1, nothing published) unless --allow-empty', async () => {
    const input = join(tmp, 'empty', 'vol_E');
    await mkdir(input, { recursive: true });
    const output = join(tmp, 'empty-out');
    const refused = await run(input, output);
    expect(refused.code).toBe(1);
    expect(lastJson<Failure>(refused).error).toMatch(/vol_E has no page images in .*vol_E.*--allow-empty/);
    expect(existsSync(output)).toBe(false);
    const allowed = await run(input, output, '--allow-empty');
    expect(allowed.code).toBe(0);
    expect(lastJson(allowed)).toMatchObject({ volumeId: 'vol_E', pages: 0, skipped: false });
  });
});

describe('a full or read-only output disk', () => {
  /** Runs the CLI in a mount namespace with a small tmpfs as --output; `prepare` fills or remounts it. */
  const inNamespace = (input: string, output: string, mount: string): Promise<{ stdout: string; stderr: string; exit: number; left: string[] }> =>
    new Promise((resolve, reject) => {
      const script = [
        'set -e',
        mount,
        'set +e',
        `"${process.execPath}" "${BIN}" run --input "${input}" --output "${output}" --model tiny --json`,
        'echo "exit=$?"',
        `find "${output}" -mindepth 1 | sort | sed "s|^${output}/|left=|"`,
      ].join('\n');
      execFile('unshare', ['-rm', 'sh', '-c', script], { maxBuffer: 1 << 24 }, (err, stdout, stderr) => {
        if (err) return reject(new Error(`unshare failed (unprivileged user namespaces are needed): ${err.message}\n${stderr}`));
        const exit = Number(/^exit=(\d+)$/m.exec(stdout)?.[1]);
        const left = [...stdout.matchAll(/^left=(.*)$/gm)].map((m) => m[1]);
        resolve({ stdout: stdout.replace(/^(exit|left)=.*\n/gm, ''), stderr, exit, left });
      });
    });

  it('ENOSPC while the table is written: exit 1 with the message and the --json line, staging removed, no crash', async () => {
    const input = join(tmp, 'full-in', 'vol_F');
    await writeDemoVolume(openLocation(input), demoPages(2));
    const output = join(tmp, 'full-out');
    await mkdir(output);
    // 64 KiB, of which 60 are taken: the table (about 8 KiB) does not fit.
    const r = await inNamespace(input, output, `mount -t tmpfs -o size=64k tmpfs "${output}"\ndd if=/dev/zero of="${output}/fill" bs=4096 count=15 2>/dev/null`);
    expect(r.exit).toBe(1);
    expect(lastJson<Failure>({ code: r.exit, stdout: r.stdout, stderr: r.stderr })).toEqual({ error: expect.stringMatching(/^failed: --output .*ENOSPC/), exitCode: 1 });
    expect(r.stderr).not.toMatch(/triggerUncaughtException|unhandled|^\s+at /m);
    expect(r.left).toEqual(['fill']);
  });

  it('a read-only output: exit 1 with the message and the --json line', async () => {
    const input = join(tmp, 'full-in', 'vol_F');
    const output = join(tmp, 'ro-out');
    await mkdir(output);
    const r = await inNamespace(input, output, `mount -t tmpfs -o ro tmpfs "${output}"`);
    expect(r.exit).toBe(1);
    expect(lastJson<Failure>({ code: r.exit, stdout: r.stdout, stderr: r.stderr })).toEqual({ error: expect.stringMatching(/^failed: --output .*EROFS/), exitCode: 1 });
    expect(r.left).toEqual([]);
  });
});

describe('volume ids and paths', () => {
  it('refuses ids that are not one plain path segment; takes the id from the real input path; writes nothing outside --output', async () => {
    const parent = join(tmp, 'ids');
    const input = join(parent, 'vol_I');
    await writeDemoVolume(openLocation(input), demoPages(1));
    await writeDemoVolume(openLocation(join(parent, '.hidden')), demoPages(1));
    const output = join(parent, 'deep', 'out');
    for (const id of ['..', '.', '_staging', '.x', 'a/b', '-x']) {
      const r = await run(input, output, '--volume-id', id);
      expect([id, r.code]).toEqual([id, 2]);
      expect(lastJson<Failure>(r).error).toMatch(/--volume-id/);
    }
    const hidden = await run(join(parent, '.hidden'), output);
    expect(hidden.code).toBe(2);
    expect(lastJson<Failure>(hidden).error).toMatch(/--volume-id is needed: the last segment of --input \("\.hidden"\) is not a volume id/);

    // `vol_I/sub/..` is vol_I: the id is the folder that is read.
    await mkdir(join(input, 'sub'), { recursive: true });
    const dotted = await run(join(input, 'sub', '..'), output);
    expect(dotted.code).toBe(0);
    expect(lastJson(dotted)).toMatchObject({ volumeId: 'vol_I', pages: 1 });
    expect((await tree(parent)).filter((p) => !p.startsWith('vol_I/') && !p.startsWith('.hidden/') && !p.startsWith('deep/out/'))).toEqual([]);
    const marker = (await S3ParquetWriter.readMarker(openLocation(output), 'vol_I')) as Marker;
    expect(await tree(output)).toEqual(['vol_I/_SUCCESS.json', marker.parquet.key]);
  });

  it('on S3: "." and ".." in --input, --output or --volume-id are refused and nothing lands outside the output prefix', async () => {
    const server = await startLocalS3Server({ buckets: ['scans', 'tables'] });
    const s3 = new S3Context(s3ClientConfigFor(server.endpoint));
    try {
      await writeDemoVolume(openLocation('s3://scans/vol_J/', s3), demoPages(1));
      const s3run = (input: string, output: string, ...more: string[]) => cli(['run', '--input', input, '--output', output, '--endpoint', server.endpoint, '--model', 'tiny', '--json', ...more], S3ENV);
      const cases: Array<[string[], RegExp]> = [
        [['s3://scans/vol_J/', 's3://tables/deep/out/', '--volume-id', '..'], /--volume-id/],
        [['s3://scans/vol_J/', 's3://tables/deep/out/..'], /--output/],
        [['s3://scans/vol_J/..', 's3://tables/deep/out/'], /--input/],
        [['s3://scans/vol_J/../', 's3://tables/deep/out/', '--volume-id', 'ok'], /--input/],
      ];
      for (const [args, names] of cases) {
        const r = await s3run(args[0], args[1], ...args.slice(2));
        expect([args.join(' '), r.code]).toEqual([args.join(' '), 2]);
        expect(lastJson<Failure>(r).error).toMatch(names);
      }
      expect((await s3run('s3://scans/vol_J/', 's3://tables/deep/out/')).code).toBe(0);
      const keys: string[] = [];
      for await (const page of openLocation('s3://tables/', s3).list({ pageSize: 1000 })) keys.push(...page.map((e) => e.key));
      expect(keys.length).toBe(2);
      expect(keys.every((k) => k.startsWith('deep/out/vol_J/'))).toBe(true);

      // An empty prefix is an empty volume: refused.
      const empty = await s3run('s3://scans/nothing-here/', 's3://tables/deep/out/');
      expect(empty.code).toBe(1);
      expect(lastJson<Failure>(empty).error).toMatch(/no page images in s3:\/\/scans\/nothing-here\//);
    } finally {
      s3.destroy();
      await server.stop();
    }
  });

  it('two inputs with the same last name into one output: the second is refused unless --volume-id names it', async () => {
    const output = join(tmp, 'twins-out');
    for (const year of ['2024', '2025']) await writeDemoVolume(openLocation(join(tmp, year, 'vol_A')), demoPages(1));
    expect((await run(join(tmp, '2024', 'vol_A'), output)).code).toBe(0);
    const clash = await run(join(tmp, '2025', 'vol_A'), output);
    expect(clash.code).toBe(1);
    expect(lastJson<Failure>(clash).error).toMatch(/already holds volume vol_A read from .*2024\/vol_A.*--volume-id/);
    const named = await run(join(tmp, '2025', 'vol_A'), output, '--volume-id', 'vol_A_2025');
    expect(named.code).toBe(0);
    expect(lastJson(named)).toMatchObject({ volumeId: 'vol_A_2025' });
  });
});

describe('odd pages', () => {
  it('a multi-page TIFF is an ok row saying only page 1 was analysed; a page over --max-pixels is an error row until the limit is raised', async () => {
    const input = join(tmp, 'odd', 'vol_T');
    await mkdir(input, { recursive: true });
    const page = (width: number, height: number, background: string) => sharp({ create: { width, height, channels: 3, background } }).png().toBuffer();
    await writeFile(join(input, 'a-multi.tif'), await sharp([await page(400, 500, '#ffffff'), await page(400, 500, '#000000')], { join: { animated: true } }).tiff().toBuffer());
    await writeFile(join(input, 'b-large.png'), await page(600, 800, '#ffffff'));
    const rowsOf = async (r: CliRun) => {
      const marker = JSON.parse(await readFile(lastJson(r).marker, 'utf8')) as Marker;
      return (await readParquet(join(tmp, 'odd-out', marker.parquet.key))).rows.map((row) => [row.key, row.status, row.error_kind, row.error]);
    };
    const limited = await run(input, join(tmp, 'odd-out'), '--max-pixels', '400000');
    expect(limited.code).toBe(0);
    expect(await rowsOf(limited)).toEqual([
      ['a-multi.tif', 'ok', null, '2-page tiff file: only page 1 is analysed'],
      ['b-large.png', 'error', 'input', expect.stringMatching(/image too large: 600×800 = 480000 pixels, over the limit of 400000/)],
    ]);
    const raised = await run(input, join(tmp, 'odd-out'), '--max-pixels', '500000');
    expect(await rowsOf(raised)).toEqual([
      ['a-multi.tif', 'ok', null, '2-page tiff file: only page 1 is analysed'],
      ['b-large.png', 'ok', null, null],
    ]);
  });
});

describe('an S3 endpoint that is not there', () => {
  it('--retry-seconds bounds the retries: exit 1 naming --input after about that long', async () => {
    const started = Date.now();
    const r = await cli(['run', '--input', 's3://scans/vol_N/', '--output', 's3://tables/out/', '--endpoint', 'http://127.0.0.1:9', '--model', 'tiny', '--retry-seconds', '1', '--json'], S3ENV);
    expect(r.code).toBe(1);
    expect(lastJson<Failure>(r).error).toMatch(/^failed: --input s3:\/\/scans\/vol_N\/: .*ECONNREFUSED/);
    // The default (30 s) would still be retrying.
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});

describe('after publishing', () => {
  it('a report that cannot be written is a warning: exit 0, the table is published', async () => {
    const input = join(tmp, 'rep', 'vol_R');
    await writeDemoVolume(openLocation(input), demoPages(1));
    const output = join(tmp, 'rep-out');
    const folder = join(tmp, 'rep');
    const r = await run(input, output, '--report', folder);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: could not write the report .*rep.*the table is published/);
    const summary = lastJson(r);
    expect(summary).toMatchObject({ volumeId: 'vol_R', pages: 1, reportError: expect.stringMatching(/EISDIR/) });
    expect(summary.report).toBeUndefined();
    const marker = JSON.parse(await readFile(summary.marker, 'utf8')) as Marker;
    expect(await tableIntact(openLocation(output), marker)).toBe(true);
  });
});
