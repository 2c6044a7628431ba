import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { resolveConfig } from '../src';
import { decodeImage } from '../src/decode/decodeImage';
import { imagenetLayout } from '../src/model/adapter';
import { readParquet } from './helpers/duckdb';
import { runFolder } from './helpers/runFolder';

/**
 * A page reads the same whatever its file's encoding (issue 17's kept-aside scans come as 1-bit
 * G4 TIFFs, palette, 16-bit and grey+alpha PNGs, CMYK and progressive JPEGs, WebP, EXIF-oriented
 * JPEGs, at 100 to 600 dpi, small images). A dev-set page, turned 90° clockwise and skewed 2.3°, is
 * encoded at test time in each form with sharp and run through the whole pipeline; each published
 * row must read the turn and the JPEG copy's skew. A second page, whose small copy read upright
 * when analysed at its own size, only as JPEG and at 640 px.
 */
const DEVSET = join(__dirname, 'fixtures', 'devset');
const TURN = 90;
const SKEW = 2.3;
/**
 * How far an encoding's skew may be from the JPEG copy's. Measured on this page (turned 90° +
 * 2.3° and upright −3.3°) over 26 encodings: within 0.017°, G4 at 100–600 dpi included.
 */
const SKEW_AGREEMENT_DEG = 0.05;

/** The dev-set page turned and skewed (white fill), lossless, as the master every encoding is made from. */
async function masterPng(file: string): Promise<Buffer> {
  const turned = await sharp(await readFile(join(DEVSET, file))).rotate(TURN).png().toBuffer();
  return sharp(turned).rotate(SKEW, { background: '#ffffff' }).png().toBuffer();
}

/** The page's pixels stored turned back by `storedTurn`, with the EXIF orientation that shows them upright again. */
async function exifOriented(master: Buffer, storedTurn: 90 | 180 | 270, encode: (image: Sharp) => Sharp): Promise<Buffer> {
  const orientation = { 90: 8, 180: 3, 270: 6 }[storedTurn];
  const stored = await sharp(master).rotate(storedTurn).png().toBuffer();
  return encode(sharp(stored).withMetadata({ orientation })).toBuffer();
}

/** Ink on a transparent sheet: black, its alpha the ink's darkness (flattened onto white, it is the grey page). */
async function inkOnTransparent(master: Buffer): Promise<Buffer> {
  const { data, info } = await sharp(master).greyscale().raw().toBuffer({ resolveWithObject: true });
  const greyAlpha = Buffer.alloc(info.width * info.height * 2);
  for (let i = 0; i < info.width * info.height; i++) greyAlpha[2 * i + 1] = 255 - data[i];
  return sharp(greyAlpha, { raw: { width: info.width, height: info.height, channels: 2 } }).png().toBuffer();
}

/** The master scaled so its long side is `longSide` (the page at another resolution). */
async function scaled(master: Buffer, longSide: number): Promise<Sharp> {
  const { width = 0, height = 0 } = await sharp(master).metadata();
  return sharp(await sharp(master).resize({ width: Math.round((width * longSide) / Math.max(width, height)) }).png().toBuffer());
}

/** 1-bit CCITT Group 4 TIFF, thresholded at mid-grey, at `dpi` (the master's long side taken as 11 inches). */
async function bilevelG4(master: Buffer, dpi: number): Promise<Buffer> {
  const image = await scaled(master, 11 * dpi);
  return image.threshold(128).toColourspace('b-w').tiff({ compression: 'ccittfax4', bitdepth: 1, xres: dpi / 25.4, yres: dpi / 25.4 }).toBuffer();
}

/** A small copy (long side 640 px, under the analysis size), JPEG q90. */
async function smallJpeg(master: Buffer): Promise<Buffer> {
  return (await scaled(master, 640)).jpeg({ quality: 90 }).toBuffer();
}

/** Every encoding of the master, by file name; `jpeg.jpg` is the reference copy (JPEG q90, as the dev-set bench makes). */
async function encodings(master: Buffer): Promise<Record<string, Buffer>> {
  const m = () => sharp(master);
  return {
    'jpeg.jpg': await m().jpeg({ quality: 90 }).toBuffer(),
    'jpeg-progressive.jpg': await m().jpeg({ quality: 90, progressive: true }).toBuffer(),
    'jpeg-cmyk.jpg': await m().toColourspace('cmyk').jpeg({ quality: 90 }).toBuffer(),
    'jpeg-exif6.jpg': await exifOriented(master, 270, (s) => s.jpeg({ quality: 90 })),
    'jpeg-600dpi.jpg': await (await scaled(master, 6600)).jpeg({ quality: 90 }).toBuffer(),
    'jpeg-100dpi.jpg': await (await scaled(master, 1100)).jpeg({ quality: 90 }).toBuffer(),
    'jpeg-640px.jpg': await smallJpeg(master),
    'png-grey.png': await m().greyscale().png().toBuffer(),
    'png-palette.png': await m().png({ palette: true }).toBuffer(),
    'png-16bit.png': await m().toColourspace('rgb16').png().toBuffer(),
    'png-ink-alpha.png': await inkOnTransparent(master),
    'tiff-lzw.tif': await m().tiff({ compression: 'lzw' }).toBuffer(),
    'webp-lossless.webp': await m().webp({ lossless: true }).toBuffer(),
    'webp.webp': await m().webp({ quality: 90 }).toBuffer(),
    'g4-300dpi.tif': await bilevelG4(master, 300),
  };
}

describe('input encodings', () => {
  let master: Buffer;

  beforeAll(async () => {
    master = await masterPng('book_pembroke_1766.jpg');
  });

  it('decodes every lossless encoding of a page to the same analysis frame as its PNG (no codec-side downscale, EXIF turns exact)', async () => {
    const cfg = resolveConfig({ input: 'unused', output: 'unused' });
    const options = { analysisMaxSide: cfg.analysisMaxSide, maxInputPixels: cfg.maxInputPixels, layout: imagenetLayout(cfg) };
    const grey = await sharp(master).greyscale().png().toBuffer();
    const colourForms: Record<string, Buffer> = {
      'webp lossless': await sharp(master).webp({ lossless: true }).toBuffer(),
      'tiff lzw': await sharp(master).tiff({ compression: 'lzw' }).toBuffer(),
      'png 16-bit': await sharp(master).toColourspace('rgb16').png().toBuffer(),
      'png exif 6': await exifOriented(master, 270, (s) => s.png()),
      'webp lossless exif 8': await exifOriented(master, 90, (s) => s.webp({ lossless: true })),
      'tiff exif 3': await exifOriented(master, 180, (s) => s.tiff({ compression: 'deflate' })),
    };
    const greyForms: Record<string, Buffer> = {
      'webp lossless grey': await sharp(grey).webp({ lossless: true }).toBuffer(),
      'tiff deflate grey': await sharp(grey).tiff({ compression: 'deflate' }).toBuffer(),
      'png grey 16-bit': await sharp(grey).toColourspace('grey16').png().toBuffer(),
      'png grey+alpha': await sharp(grey).ensureAlpha(1).png().toBuffer(),
      'png ink on transparent': await inkOnTransparent(master),
    };
    /** The largest difference of any pixel channel from the reference frame's (Infinity: another size or an error). */
    const largestDifference = async (reference: Buffer, forms: Record<string, Buffer>) => {
      const { frame: ref } = await decodeImage(reference, options);
      const out: Record<string, number> = {};
      for (const [name, bytes] of Object.entries(forms)) {
        const { frame, error } = await decodeImage(bytes, options);
        if (!frame || !ref || frame.width !== ref.width || frame.height !== ref.height) {
          out[name] = Infinity;
          if (error) console.log(`${name}: ${error}`);
          continue;
        }
        let largest = 0;
        for (let i = 0; i < frame.pixels.length; i++) largest = Math.max(largest, Math.abs(frame.pixels[i] - ref.pixels[i]));
        out[name] = largest;
      }
      return out;
    };
    const differences = { ...(await largestDifference(await sharp(master).png().toBuffer(), colourForms)), ...(await largestDifference(grey, greyForms)) };
    // The same pixels, to within the resampler's rounding (2 levels) where it runs on 16 bits or
    // along swapped axes (a quarter turn by EXIF); a codec's own downscale is off by tens.
    const verdicts = Object.fromEntries(Object.entries(differences).map(([name, d]) => [name, d <= 2 ? 'same' : `off by ${d}`]));
    expect(verdicts).toEqual(Object.fromEntries(Object.keys(differences).map((name) => [name, 'same'])));
  });

  it('publishes the same orientation and skew for a turned, skewed page in every encoding, 1-bit G4 at 300 dpi and 100–600 dpi and 640 px copies among them', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'rxvolume-formats-'));
    try {
      const input = join(tmp, 'in');
      await mkdir(input);
      const fleming = await masterPng('book_fleming_1719_2col.jpg');
      const pages: Record<string, Record<string, Buffer>> = {
        pembroke: await encodings(master),
        fleming: { 'jpeg.jpg': await sharp(fleming).jpeg({ quality: 90 }).toBuffer(), 'jpeg-640px.jpg': await smallJpeg(fleming) },
      };
      const files = Object.fromEntries(Object.entries(pages).flatMap(([page, forms]) => Object.entries(forms).map(([name, bytes]) => [`${page}__${name}`, bytes])));
      for (const [name, bytes] of Object.entries(files)) await writeFile(join(input, name), bytes);
      const { published } = await runFolder(input, join(tmp, 'out'), {}, 'formats');
      const { rows } = await readParquet(published.parquet);
      const read = new Map(rows.map((row) => [String(row.key), row]));
      expect([...read.keys()].sort()).toEqual(Object.keys(files).sort());
      console.log(rows.map((r) => `${r.key}: ${r.status} ${r.error ?? ''} orientation ${r.orientation_deg} (${(r.orientation_confidence as number)?.toFixed(2)}) skew ${(r.skew_deg as number)?.toFixed(3)}`).join('\n'));
      const referenceOf = (name: string) => read.get(name.replace(/__.*$/, '__jpeg.jpg'))!;
      for (const page of Object.keys(pages)) {
        const reference = read.get(`${page}__jpeg.jpg`)!;
        expect(reference).toMatchObject({ status: 'ok', orientation_deg: TURN });
        expect(Math.abs((reference.skew_deg as number) - SKEW)).toBeLessThan(0.1);
      }
      const readings = Object.keys(files).map((name) => {
        const row = read.get(name)!;
        const reference = referenceOf(name);
        const skewOff = Math.abs((row.skew_deg as number) - (reference.skew_deg as number));
        return { name, status: row.status, error: row.error, orientation: row.orientation_deg, skewAgrees: skewOff <= SKEW_AGREEMENT_DEG || skewOff };
      });
      expect(readings).toEqual(Object.keys(files).map((name) => ({ name, status: 'ok', error: null, orientation: TURN, skewAgrees: true })));
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }, 240_000);
});
