import sharp from 'sharp';
import { from, lastValueFrom, toArray } from 'rxjs';
import { Credits } from '../operators';
import { resolveConfig } from '../src/config';
import { decodeImage } from '../src/decode/decodeImage';
import { imagenetLayout } from '../src/model/adapter';
import { Decoder } from '../src/stages/decoder';
import { failed, pageWork, type FailedPage, type FetchedPage } from '../src/page';
import type { AnyPage } from './helpers/pages';

const cfg = resolveConfig({ input: 'unused', output: 'unused', decodeWorkers: 2, analysisMaxSide: 256, maxInputPixels: 1_000_000, patchSize: 128, patchOverlap: 16 });
const colour = { r: 200, g: 60, b: 30 };
const solid = (width = 300, height = 200) => sharp({ create: { width, height, channels: 3, background: colour } });

/** A JPEG of pseudo-random pixels (so truncating it cuts real scan data). */
const noiseJpeg = () =>
  sharp(Buffer.from(Array.from({ length: 300 * 200 * 3 }, (_, i) => (i * 7919) % 256)), { raw: { width: 300, height: 200, channels: 3 } }).jpeg().toBuffer();

/** The same bytes with `count` bytes from `at` overwritten by garbage. */
function mangled(bytes: Buffer, at: number, count: number): Buffer {
  const out = Buffer.from(bytes);
  for (let i = at; i < at + count; i++) out[i] = (i * 31) & 255;
  return out;
}

async function inputs(): Promise<Record<string, Uint8Array>> {
  const noise = await noiseJpeg();
  const png = await solid().png().toBuffer();
  const webp = await solid().webp().toBuffer();
  return {
    jpeg: await solid().jpeg().toBuffer(),
    cmyk: await solid().toColourspace('cmyk').jpeg().toBuffer(),
    png16: await solid().toColourspace('rgb16').png().toBuffer(),
    grey: await solid().greyscale().png().toBuffer(),
    transparent: await sharp({ create: { width: 300, height: 200, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).png().toBuffer(),
    tiff: await solid().tiff().toBuffer(),
    multipage: await sharp([await solid().png().toBuffer(), await solid().negate().png().toBuffer()], { join: { animated: true } }).tiff().toBuffer(),
    webp: await solid().webp({ lossless: true }).toBuffer(),
    exifRotated: await solid().jpeg().withMetadata({ orientation: 6 }).toBuffer(),
    empty: new Uint8Array(0),
    text: Buffer.from('not an image at all'),
    truncated: noise.subarray(0, noise.length >> 1),
    corrupt: mangled(await solid().jpeg().toBuffer(), 20, 180),
    truncatedPng: png.subarray(0, png.length - 30),
    crcPng: mangled(png, png.length - 40, 1),
    truncatedWebp: webp.subarray(0, webp.length >> 1),
    gif: await solid().gif().toBuffer(),
    bomb: await solid(2000, 1000).png().toBuffer(),
  };
}

const expectedErrors: Record<string, RegExp> = {
  empty: /^empty file \(0 bytes\)$/,
  text: /^not a readable image: .*unsupported image format/,
  truncated: /^truncated jpeg image: its scan data stops at byte \d+ with no end-of-image marker$/,
  // Bytes 20–199 overwritten: the quantisation table (bytes 2–70) keeps its length, then 133 stray
  // bytes (as libjpeg counts them) up to a marker, and the frame header is gone.
  corrupt: /^corrupt jpeg image: 133 bytes that are not JPEG data at byte 71 \(found 0x99 where a marker is due\); scan data at byte \d+ before any frame header \(SOF\)$/,
  truncatedPng: /^truncated png image: chunk IDAT at byte \d+ declares \d+ bytes, past the end of the file \(\d+ bytes\)$/,
  crcPng: /^corrupt png image: chunk IDAT at byte \d+ fails its CRC check$/,
  truncatedWebp: /^truncated webp image: its RIFF header declares \d+ bytes, the file has \d+$/,
  gif: /^unsupported image format gif/,
  bomb: /^image too large: 2000×1000 = 2000000 pixels, over the limit of 1000000$/,
};

describe('Decoder', () => {
  const decoder = new Decoder(cfg, imagenetLayout(cfg));
  afterAll(() => decoder.close());

  it('decodes valid images of every kind, fails each bad one clearly, and gives back every credit', async () => {
    const named = await inputs();
    const names = Object.keys(named);
    const fetched = new Credits(names.length + 1);
    const works: Array<FetchedPage | FailedPage> = names.map((name, seq) => {
      fetched.tryAcquire();
      return { ...pageWork({ volumeId: 'v', key: name, etag: 'e', size: named[name].length, seq }), state: 'fetched', bytes: named[name] };
    });
    fetched.tryAcquire();
    works.push(failed(pageWork({ volumeId: 'v', key: 'earlier', etag: 'e', size: 0, seq: 99 }), 'fetch failed: 404'));

    const out = await lastValueFrom(from(works).pipe(decoder.decode(fetched), toArray()));
    const byKey = new Map<string, AnyPage>(out.map((w) => [w.task.key, w]));
    expect(out).toHaveLength(works.length);
    expect(fetched.inUse).toBe(0);
    expect(byKey.get('earlier')?.error).toBe('fetch failed: 404');

    for (const [name, pattern] of Object.entries(expectedErrors)) {
      const w = byKey.get(name)!;
      expect({ name, error: w.error }).toEqual({ name, error: expect.stringMatching(pattern) });
      expect(w.frame).toBeUndefined();
      expect(w.bytes).toBeUndefined();
    }

    const valid = names.filter((n) => !(n in expectedErrors));
    for (const name of valid) {
      const w = byKey.get(name)!;
      expect({ name, error: w.error }).toEqual({ name, error: undefined });
      const f = w.frame!;
      expect(w.bytes).toBeUndefined();
      expect(w.timings!.decodeMs).toBeGreaterThan(0);
      // Analysis scale: longest side 256, source size kept (after EXIF rotation).
      expect(Math.max(f.width, f.height)).toBe(256);
      // Transferred, not copied: the buffers are their own, exactly the data's size.
      expect(f.pixels.byteOffset).toBe(0);
      expect(f.pixels.buffer.byteLength).toBe(f.width * f.height * 3);
      expect(f.patches.data.buffer.byteLength).toBe(f.patches.count * 3 * 128 * 128);
      expect(f.patches.count).toBe(f.patches.cols * f.patches.rows);
    }

    const centre = (name: string) => {
      const f = byKey.get(name)!.frame!;
      const i = (Math.floor(f.height / 2) * f.width + Math.floor(f.width / 2)) * 3;
      return Array.from(f.pixels.subarray(i, i + 3));
    };
    for (const name of ['jpeg', 'png16', 'tiff', 'webp', 'exifRotated']) {
      centre(name).forEach((v, c) => expect(Math.abs(v - [colour.r, colour.g, colour.b][c])).toBeLessThanOrEqual(3));
    }
    // CMYK without a profile converts approximately; grey stays grey; transparency becomes white paper.
    centre('cmyk').forEach((v, c) => expect(Math.abs(v - [colour.r, colour.g, colour.b][c])).toBeLessThanOrEqual(40));
    const [r, g, b] = centre('grey');
    expect(r).toBe(g);
    expect(g).toBe(b);
    expect(centre('transparent')).toEqual([255, 255, 255]);
    // A multi-page TIFF is read at page 1, and says so on the page (the row's note).
    expect(centre('multipage')).toEqual(centre('tiff'));
    expect(byKey.get('multipage')!.note).toBe('2-page tiff file: only page 1 is analysed');
    expect(valid.filter((name) => byKey.get(name)!.note !== undefined)).toEqual(['multipage']);
    const rotated = byKey.get('exifRotated')!.frame!;
    expect([rotated.width, rotated.height, rotated.sourceWidth, rotated.sourceHeight]).toEqual([171, 256, 200, 300]);
  });

  it('names a damaged file\'s fault the same way every time, however many fail at once', async () => {
    // libvips keeps one error buffer per process: read from it, decodes failing at once on sharp's
    // threads lose or swap their messages. The reasons come from the files' structure instead.
    const named = await inputs();
    const damaged = ['truncated', 'corrupt', 'truncatedPng', 'crcPng', 'truncatedWebp'];
    const options = { analysisMaxSide: cfg.analysisMaxSide, maxInputPixels: cfg.maxInputPixels, layout: imagenetLayout(cfg) };
    const attempts = await Promise.all(Array.from({ length: 8 }, () => damaged.map(async (name) => ({ name, error: (await decodeImage(named[name], options)).error }))).flat());
    for (const name of damaged) {
      const errors = new Set(attempts.filter((a) => a.name === name).map((a) => a.error));
      expect({ name, errors: [...errors] }).toEqual({ name, errors: [expect.stringMatching(expectedErrors[name])] });
    }
  });
});
