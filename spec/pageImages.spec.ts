import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstValueFrom, from, toArray } from 'rxjs';
import sharp from 'sharp';
import { Credits } from '../operators';
import { S3Context, openLocation, type Location } from '../src';
import { renderSyntheticPage, s3ClientConfigFor, startLocalS3Server } from '../src/demo';
import { correctedPageImage, type FullResolutionTask } from '../src/correct/pageImage';
import { pageImages } from '../src/stages/pageImages';
import type { PageResult } from '../src/stages/transformController';
import { planRotation } from '../src/transform/rotate';
import type { VolumeRecord } from '../src/types';

/**
 * The page-image stage on its own, with the real full-resolution correction (run in this thread
 * instead of on the transform pool) against a folder and s3rver: error rows pass, kept pages in
 * their own format are copied byte for byte, others are corrected and re-encoded, a page changed
 * since it was listed becomes an error row, and no more than `credits.capacity` pages are inside.
 */

/** A row as the controller leaves it: ok with a correction (`rotate`) or kept as it is, or an error row. */
function row(key: string, etag: string, seq: number, size: { width: number; height: number } | null, rotate = 0): VolumeRecord {
  const ok = size !== null;
  const canvas = size && planRotation(size.width, size.height, rotate);
  return {
    volume_id: 'vol', seq, key, etag, status: ok ? 'ok' : 'error', error: ok ? null : 'not a readable image', error_kind: ok ? null : 'input',
    width: size?.width ?? null, height: size?.height ?? null, orientation_deg: ok ? 0 : null, orientation_confidence: null, skew_deg: ok ? rotate : null, confidence: null,
    transform: rotate ? 'rotate' : 'none', rejected_transform: null, residual_skew_deg: null, curvature_px: null, residual_curvature_px: null,
    text_lines: null, text_coverage: null, passes: ok ? 1 : 0, fetch_ms: 0, decode_ms: 0, infer_ms: 0, transform_ms: 0, total_ms: 0,
    applied_rotation_deg: ok ? rotate : null, image_width: canvas?.width ?? null, image_height: canvas?.height ?? null, dewarp_points: null, image_key: null,
  };
}

/** Runs the stage; `running.max` is the most full-resolution corrections that ran at once. */
async function run(input: Location, output: Location, pages: PageResult[], credits: Credits, format: 'jpeg' | 'png' | 'same' = 'jpeg', running = { now: 0, max: 0 }): Promise<Map<string, VolumeRecord>> {
  const correct = async (task: FullResolutionTask) => {
    running.max = Math.max(running.max, ++running.now);
    try {
      return await correctedPageImage(task);
    } finally {
      running.now--;
    }
  };
  const out = await firstValueFrom(from(pages).pipe(pageImages({ input, output, prefix: 'vol/pages/a1/', format, quality: 90, credits, correct }), toArray()));
  return new Map(out.map((p) => [p.record.key, p.record]));
}

for (const where of ['a folder', 's3rver'] as const) {
  describe(`pageImages on ${where}`, () => {
    let tmp: string;
    let server: Awaited<ReturnType<typeof startLocalS3Server>> | undefined;
    let s3: S3Context | undefined;
    let input: Location;
    let output: Location;
    const pages: PageResult[] = [];
    const originals = new Map<string, Buffer>();

    beforeAll(async () => {
      tmp = await mkdtemp(join(tmpdir(), 'rxvolume-page-images-'));
      if (where === 's3rver') {
        server = await startLocalS3Server({ buckets: ['scans', 'tables'] });
        s3 = new S3Context(s3ClientConfigFor(server.endpoint));
      }
      input = openLocation(where === 's3rver' ? 's3://scans/vol/' : join(tmp, 'in'), s3);
      output = openLocation(where === 's3rver' ? 's3://tables/out/' : join(tmp, 'out'), s3);
      const jpeg = await renderSyntheticPage({ seed: 1, width: 300, height: 400 });
      const png = await renderSyntheticPage({ seed: 2, width: 300, height: 400, format: 'png' });
      const skewed = await renderSyntheticPage({ seed: 3, width: 300, height: 400, skewDeg: 5 });
      for (const [key, bytes] of [['kept.jpg', jpeg], ['kept.png', png], ['skewed.jpg', skewed], ['changed.jpg', jpeg], ['bad.jpg', Buffer.from('not an image')]] as const) {
        originals.set(key, bytes);
        await input.putBytes(key, bytes);
      }
      const etags = new Map<string, string>();
      for await (const page of input.list({ pageSize: 100 })) for (const e of page) etags.set(e.key, e.etag);
      const size = async (bytes: Buffer) => {
        const { width = 0, height = 0 } = await sharp(bytes).metadata();
        return { width, height };
      };
      pages.push(
        { record: row('kept.jpg', etags.get('kept.jpg') as string, 0, await size(jpeg)) },
        { record: row('kept.png', etags.get('kept.png') as string, 1, await size(png)) },
        { record: row('skewed.jpg', etags.get('skewed.jpg') as string, 2, await size(skewed), 5) },
        { record: row('changed.jpg', etags.get('changed.jpg') as string, 3, await size(jpeg), 2) },
        { record: row('bad.jpg', etags.get('bad.jpg') as string, 4, null) },
      );
      // Changed after it was listed (and analysed): its image must not be made from other bytes.
      await input.putBytes('changed.jpg', skewed);
    }, 60_000);
    afterAll(async () => {
      s3?.destroy();
      await server?.stop();
      await rm(tmp, { recursive: true, force: true });
    });

    it('publishes one image per ok row, copies kept pages in their own format, re-encodes the rest; a changed original and error rows get none', async () => {
      const credits = new Credits(2, 'fullResPages');
      const rows = await run(input, output, pages, credits);
      expect(rows.get('bad.jpg')).toMatchObject({ status: 'error', image_key: null });
      expect(rows.get('changed.jpg')).toMatchObject({ status: 'error', error_kind: 'input', image_key: null, applied_rotation_deg: null, error: expect.stringMatching(/^image: changed\.jpg: .*ETag/) });
      expect(rows.get('kept.jpg')?.image_key).toBe('vol/pages/a1/000000-kept.jpg');
      expect(rows.get('kept.png')?.image_key).toBe('vol/pages/a1/000001-kept.jpg');
      expect(rows.get('skewed.jpg')?.image_key).toBe('vol/pages/a1/000002-skewed.jpg');
      const published = async (key: string) => Buffer.from((await output.get(rows.get(key)?.image_key as string)).bytes);
      expect(Buffer.compare(await published('kept.jpg'), originals.get('kept.jpg') as Buffer)).toBe(0); // copied as it is
      expect((await sharp(await published('kept.png')).metadata()).format).toBe('jpeg'); // re-encoded
      const skewed = await sharp(await published('skewed.jpg')).metadata();
      const record = rows.get('skewed.jpg') as VolumeRecord;
      expect({ format: skewed.format, width: skewed.width, height: skewed.height }).toEqual({ format: 'jpeg', width: record.image_width, height: record.image_height });
      expect((record.image_width as number) > (record.width as number)).toBe(true); // the canvas grew for the rotation
      const listed: string[] = [];
      for await (const page of output.child('vol/pages/a1').list({ pageSize: 100 })) listed.push(...page.map((e) => e.key));
      expect(listed.sort()).toEqual(['000000-kept.jpg', '000001-kept.jpg', '000002-skewed.jpg']);
      expect(credits.peak).toBeLessThanOrEqual(2);
      expect(credits.inUse).toBe(0);
    }, 60_000);

    it('same: each page in its own format, kept pages copied byte for byte', async () => {
      const rows = await run(input, output, pages.slice(0, 3), new Credits(2, 'fullResPages'), 'same');
      expect([...rows.values()].map((r) => r.image_key)).toEqual(expect.arrayContaining(['vol/pages/a1/000000-kept.jpg', 'vol/pages/a1/000001-kept.png', 'vol/pages/a1/000002-skewed.jpg']));
      const published = async (key: string) => Buffer.from((await output.get(rows.get(key)?.image_key as string)).bytes);
      expect(Buffer.compare(await published('kept.png'), originals.get('kept.png') as Buffer)).toBe(0);
      expect((await sharp(await published('skewed.jpg')).metadata()).format).toBe('jpeg');
    }, 60_000);

    it('corrects at most credits.capacity pages at once', async () => {
      const running = { now: 0, max: 0 };
      await run(input, output, pages.slice(0, 3), new Credits(1, 'fullResPages'), 'png', running);
      expect(running.max).toBe(1);
    }, 60_000);
  });
}

