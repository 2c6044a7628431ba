import sharp, { type Sharp } from 'sharp';
import type { RgbImage } from '../transform/image';
import { loadOpenCv, matFromRgb } from '../transform/opencv';
import { applyAffine, invertAffine, planRotation, rotateOnVips, type Rgb } from '../transform/rotate';
import { evaluateThinPlateSpline, fitThinPlateSpline } from '../transform/thinPlateSpline';
import { MapGrid, fillMapRows, sampleMapGrid } from '../transform/tps';
import type { VolumeRecord } from '../types';
import type { CorrectionColumns, DewarpPointsJson } from './columns';

/** What `applyCorrection` reads from a row: the original's size and the correction columns. */
export type CorrectionRow = Pick<VolumeRecord, 'width' | 'height'> & CorrectionColumns;

/** The corrected image's encoding; `quality` (1..100, default 90) is for jpeg and webp; tiff is LZW (lossless). */
export interface EncodeOptions {
  format: 'jpeg' | 'png' | 'webp' | 'tiff';
  quality?: number;
}

/** The full-resolution map is sampled every this many pixels (bilinear in between). */
const GRID_STEP = 32;
/** Output pixels remapped per strip: the maps of one strip take 8 bytes a pixel. */
const STRIP_PIXELS = 1 << 18;

/**
 * The page's background colour, measured on its margins: the outer band (`bandFraction` of the
 * shorter side) of the image, its brighter half by luma (paper, not ink or the desk around a
 * photographed page), median per channel.
 */
export function marginColour(image: RgbImage, bandFraction = 0.03): Rgb {
  const { width, height, pixels } = image;
  const band = Math.max(1, Math.min(Math.floor(Math.min(width, height) / 2), Math.round(bandFraction * Math.min(width, height))));
  // The band as runs of pixels [from, to): whole rows at the top and bottom, both ends of the rows between.
  const runs: number[] = [];
  for (let y = 0; y < height; y++) {
    const row = y * width;
    if (y < band || y >= height - band) runs.push(row, row + width);
    else runs.push(row, row + band, row + width - band, row + width);
  }
  const lumas = new Float64Array(256);
  for (let r = 0; r < runs.length; r += 2) {
    for (let i = runs[r] * 3, end = runs[r + 1] * 3; i < end; i += 3) lumas[(pixels[i] * 77 + pixels[i + 1] * 150 + pixels[i + 2] * 29) >> 8]++;
  }
  const threshold = median(lumas);
  const [red, green, blue] = [new Float64Array(256), new Float64Array(256), new Float64Array(256)];
  for (let r = 0; r < runs.length; r += 2) {
    for (let i = runs[r] * 3, end = runs[r + 1] * 3; i < end; i += 3) {
      if ((pixels[i] * 77 + pixels[i + 1] * 150 + pixels[i + 2] * 29) >> 8 < threshold) continue;
      red[pixels[i]]++;
      green[pixels[i + 1]]++;
      blue[pixels[i + 2]]++;
    }
  }
  return [median(red), median(green), median(blue)];
}

/** The median value of a 256-bin histogram. */
function median(histogram: Float64Array): number {
  const half = histogram.reduce((s, n) => s + n, 0) / 2;
  let seen = 0;
  for (let v = 0; v < 256; v++) if ((seen += histogram[v]) >= half) return v;
  return 255;
}

/** `dewarp_points` parsed and checked. */
function parseDewarpPoints(json: string): DewarpPointsJson {
  const points = JSON.parse(json) as DewarpPointsJson;
  const isPoints = (v: unknown) => Array.isArray(v) && v.every((p) => Array.isArray(p) && p.length === 2 && p.every(Number.isFinite));
  if (!isPoints(points.source) || !isPoints(points.target) || points.source.length !== points.target.length || !(points.smoothing >= 0)) {
    throw new Error('applyCorrection: dewarp_points is not {smoothing, source: [[x, y]…], target: [[x, y]…]} of equal lengths');
  }
  return points;
}

/**
 * Remaps `image` onto a `grid.width`×`grid.height` canvas (each output pixel samples the source
 * where the grid says, bilinear, `fill` outside), one strip of rows at a time so that only the
 * source and a strip's maps live in OpenCV's heap. The result is JS-owned.
 */
async function remapInStrips(image: RgbImage, grid: MapGrid, fill: Rgb): Promise<RgbImage> {
  const { cv } = await loadOpenCv();
  const { width, height } = grid;
  const pixels = new Uint8Array(width * height * 3);
  const stripRows = Math.max(1, Math.floor(STRIP_PIXELS / width));
  const src = matFromRgb(cv, image);
  try {
    for (let y0 = 0; y0 < height; y0 += stripRows) {
      const rows = Math.min(stripRows, height - y0);
      const mapX = new cv.Mat(rows, width, cv.CV_32FC1);
      const mapY = new cv.Mat(rows, width, cv.CV_32FC1);
      const dst = new cv.Mat();
      try {
        fillMapRows(grid, y0, y0 + rows, mapX.data32F, mapY.data32F);
        cv.remap(src, dst, mapX, mapY, cv.INTER_LINEAR, cv.BORDER_CONSTANT, new cv.Scalar(fill[0], fill[1], fill[2], 255));
        pixels.set(dst.data, y0 * width * 3);
      } finally {
        for (const mat of [mapX, mapY, dst]) mat.delete();
      }
    }
  } finally {
    src.delete();
  }
  return { width, height, pixels };
}

/** A sharp pipeline reading `image`'s pixels. */
function pipelineOf(image: RgbImage): Sharp {
  return sharp(image.pixels, { raw: { width: image.width, height: image.height, channels: 3 } });
}

/**
 * The correction a row describes, applied to the full-resolution upright original, as a libvips
 * pipeline not yet run (the caller adds the encoder). The canvas is the rotation's whole bounding
 * box, filled with the page's margin colour. The cheapest exact way for each kind of correction:
 * - none: the pixels as they are;
 * - a quarter turn alone: libvips moves the pixels (no resampling, nothing to fill);
 * - a turn or deskew alone: libvips' bilinear affine about the page centre (`rotateOnVips`);
 * - with a dewarp: one remap, each output pixel going back through the dewarp (its spline solved
 *   from the row's control points) and the rotation to the source pixel it samples.
 */
async function correctedPipeline(image: RgbImage, row: CorrectionRow): Promise<Sharp> {
  const rotateDeg = row.applied_rotation_deg;
  if (rotateDeg === null || row.image_width === null || row.image_height === null) throw new Error('applyCorrection: the row has no correction (an error row?)');
  if (image.width !== row.width || image.height !== row.height) {
    throw new Error(`applyCorrection: the original is ${image.width}×${image.height} upright, the row was made from ${row.width}×${row.height}`);
  }
  if (rotateDeg === 0 && !row.dewarp_points) return pipelineOf(image);
  const rotation = planRotation(image.width, image.height, rotateDeg);
  if (rotation.width !== row.image_width || rotation.height !== row.image_height) {
    throw new Error(`applyCorrection: rotating by ${rotateDeg}° gives ${rotation.width}×${rotation.height}, the row says ${row.image_width}×${row.image_height}`);
  }
  if (!row.dewarp_points) {
    // sharp turns clockwise; the row's rotation is counter-clockwise.
    if (rotateDeg % 90 === 0) return pipelineOf(image).rotate(((-rotateDeg % 360) + 360) % 360);
    return rotateOnVips(pipelineOf(image), image.width, image.height, rotation, marginColour(image));
  }
  const toSource = invertAffine(rotation.matrix);
  const points = parseDewarpPoints(row.dewarp_points);
  // The dewarp's inverse: output pixel → rotated canvas (then back through the rotation).
  const inverse = fitThinPlateSpline(points.target, points.source, points.smoothing);
  const grid = sampleMapGrid(rotation.width, rotation.height, GRID_STEP, (x, y) => applyAffine(toSource, evaluateThinPlateSpline(inverse, [x, y])));
  return pipelineOf(await remapInStrips(image, grid, marginColour(image)));
}

/**
 * Rebuilds a page's corrected image from its original bytes and its published row: EXIF
 * orientation baked in, the rotation `applied_rotation_deg` (counter-clockwise, about the page
 * centre, canvas expanded and filled with the margin colour) and the dewarp `dewarp_points`, at
 * full resolution, encoded as asked with the original's DPI. Throws when the bytes are not the
 * row's original (another size) or the row is an error row.
 *
 * The encoders' settings are the cheap end of equal output (bench/RESULTS.md, fifth session): JPEG
 * without the optimised Huffman tables' second pass (the same pixels, files ~8 % larger), PNG at
 * zlib level 3 (~4 % larger than 6, a quarter of the CPU), WebP at effort 2 (the same size and
 * quality as 4, less than half the CPU).
 */
export async function applyCorrection(original: Uint8Array, row: CorrectionRow, output: EncodeOptions): Promise<Buffer> {
  const { density } = await sharp(original).metadata();
  const { data, info } = await sharp(original)
    .rotate()
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb')
    .removeAlpha()
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  let encoder = await correctedPipeline({ width: info.width, height: info.height, pixels: data }, row);
  // The DPI alone: `withMetadata` would also tag the output sRGB through an sRGB → sRGB transform
  // of every pixel (the same pixels, 40 ms of an A4 page's CPU); the pixels are sRGB already.
  if (density) encoder = encoder.withDensity(density);
  const { data: bytes, info: written } = await encoded(encoder, output).toBuffer({ resolveWithObject: true });
  if (written.width !== row.image_width || written.height !== row.image_height) {
    throw new Error(`applyCorrection: the corrected page came out ${written.width}×${written.height}, the row says ${row.image_width}×${row.image_height}`);
  }
  return bytes;
}

/** `pipeline` with its encoder (see `applyCorrection` for the settings). */
function encoded(pipeline: Sharp, output: EncodeOptions): Sharp {
  const quality = output.quality ?? 90;
  switch (output.format) {
    case 'jpeg':
      return pipeline.jpeg({ quality, optimiseCoding: false });
    case 'webp':
      return pipeline.webp({ quality, effort: 2 });
    case 'png':
      return pipeline.png({ compressionLevel: 3 });
    case 'tiff':
      return pipeline.tiff({ compression: 'lzw' });
    default:
      throw new Error(`applyCorrection: unknown format ${String((output as EncodeOptions).format)}`);
  }
}
