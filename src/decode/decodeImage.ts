import sharp, { type Metadata, type OutputInfo } from 'sharp';
import type { DecodedFrame } from '../types';
import { describeDamage, type Damage } from './describeDamage';
import { tilePatches, type PatchLayout } from './tile';

export interface DecodeOptions {
  analysisMaxSide: number;
  maxInputPixels: number;
  layout: PatchLayout;
}

export type DecodeOutcome = { frame: DecodedFrame; error?: undefined } | { frame?: undefined; error: string };

const FORMATS = new Set(['jpeg', 'png', 'tiff', 'webp']);

/**
 * An error's message on one line, each of its lines once: libvips repeats its warnings for every
 * read of a bad header (a line that an earlier one ends with is a repeat).
 */
function oneLine(err: unknown): string {
  const lines = String((err as Error)?.message ?? err).split('\n').map((line) => line.replace(/\s+/g, ' ').trim()).filter(Boolean);
  return lines.filter((line, i) => !lines.slice(0, i).some((earlier) => earlier.endsWith(line))).join(' ');
}

const damageMessage = (damage: Damage) => `${damage.truncated ? 'truncated' : 'corrupt'} ${damage.format} image: ${damage.reason}`;

/**
 * Decodes JPEG, PNG, TIFF or WebP bytes to an analysis-scale frame: EXIF orientation applied,
 * alpha flattened onto white, any colour space or bit depth (grey, CMYK, 16-bit) converted to 8-bit
 * sRGB, longest side `analysisMaxSide`, then tiled into model patches. A smaller page is enlarged
 * to it, so its text comes to the model at the size it would from the same page scanned larger
 * (ten dev-set pages at 640 px, turned and skewed: turn read right 34/40, skew median 0.019° off
 * the full-size copy's; enlarged 39/40, 0.008°). The downscale is
 * libvips' own (box then Lanczos 3) whatever the codec: WebP is never scaled by libwebp's decoder
 * and a JPEG's DCT-domain shrink leaves at least a factor of two to it (`fastShrinkOnLoad: false`),
 * so a page reads the same in any encoding (a lossless WebP's frame was up to 21 levels off its
 * PNG's; a 600 dpi JPEG's 5.9 levels off on average, now 2.7). A WebP is decoded at full size for
 * it, in memory (libvips cannot stream WebP). The pixel and patch
 * buffers are JS-allocated and own their ArrayBuffers, so they can be transferred between threads.
 * Never throws: a bad input comes back as `{ error }` with a message that says what was wrong, read
 * from the file's structure where it can be (`describeDamage`), libvips' words otherwise. A
 * multi-page file (TIFF, animated WebP) is read at its first page, and the frame's `note` says so.
 */
export async function decodeImage(bytes: Uint8Array, options: DecodeOptions): Promise<DecodeOutcome> {
  if (bytes.length === 0) return { error: 'empty file (0 bytes)' };
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (err) {
    const damage = describeDamage(bytes);
    return { error: damage ? damageMessage(damage) : `not a readable image: ${oneLine(err)}` };
  }
  if (!meta.format || !FORMATS.has(meta.format)) return { error: `unsupported image format ${meta.format ?? 'unknown'} (expected JPEG, PNG, TIFF or WebP)` };
  const { width = 0, height = 0 } = meta;
  if (width * height > options.maxInputPixels) {
    return { error: `image too large: ${width}×${height} = ${width * height} pixels, over the limit of ${options.maxInputPixels}` };
  }
  const side = options.analysisMaxSide;
  let decoded: { data: Buffer; info: OutputInfo };
  try {
    decoded = await sharp(bytes, { limitInputPixels: options.maxInputPixels, failOn: 'error' })
      .rotate()
      .resize({ width: side, height: side, fit: 'inside', fastShrinkOnLoad: false })
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (err) {
    const damage = describeDamage(bytes);
    return { error: damage ? damageMessage(damage) : `corrupt ${meta.format} image: ${oneLine(err)}` };
  }
  const { data, info } = decoded;
  if (info.channels !== 3) return { error: `decoded to ${info.channels} channels, expected 3` };
  const pixels = new Uint8Array(new ArrayBuffer(data.length));
  pixels.set(data);
  const swapped = (meta.orientation ?? 1) >= 5;
  const pages = meta.pages ?? 1;
  return {
    frame: {
      ...(pages > 1 ? { note: `${pages}-page ${meta.format} file: only page 1 is analysed` } : {}),
      width: info.width,
      height: info.height,
      channels: 3,
      pixels,
      sourceWidth: swapped ? height : width,
      sourceHeight: swapped ? width : height,
      patches: tilePatches(pixels, info.width, info.height, options.layout),
    },
  };
}
