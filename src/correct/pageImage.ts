import sharp from 'sharp';
import { moveWith } from '../infer/transfer';
import { applyCorrection, type CorrectionRow, type EncodeOptions } from './applyCorrection';
import type { ImagesSetting } from './imagesSetting';

export { IMAGES_SETTINGS, type ImagesSetting } from './imagesSetting';

/** An encoding of a published page image. */
export type ImageFormat = EncodeOptions['format'];

const FORMAT_OF_EXTENSION: Record<string, ImageFormat> = { '.jpg': 'jpeg', '.jpeg': 'jpeg', '.png': 'png', '.webp': 'webp', '.tif': 'tiff', '.tiff': 'tiff' };
const EXTENSION_OF_FORMAT: Record<ImageFormat, string> = { jpeg: '.jpg', png: '.png', webp: '.webp', tiff: '.tif' };
const CONTENT_TYPE: Record<ImageFormat, string> = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', tiff: 'image/tiff' };

/** The file extension of a key (lower case, with its dot; '' when none). */
function extensionOf(key: string): string {
  const base = key.slice(key.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot).toLowerCase() : '';
}

/** The format an input key's extension names, or undefined. */
export function formatOfKey(key: string): ImageFormat | undefined {
  return FORMAT_OF_EXTENSION[extensionOf(key)];
}

/** The Content-Type of a page image in `format`. */
export function contentTypeOf(format: ImageFormat): string {
  return CONTENT_TYPE[format];
}

/**
 * The name of a page's image in its attempt's `pages/` prefix: the listing position (6 digits, so
 * names sort in page order and never collide) and the input's file name, with the extension of the
 * output format (`same`: the input's own).
 * `scans/vol_A/p0003.png`, seq 2, jpeg → `000002-p0003.jpg`.
 */
export function imageName(key: string, seq: number, setting: Exclude<ImagesSetting, 'off'>): string {
  const base = key.slice(key.lastIndexOf('/') + 1);
  const ext = extensionOf(key);
  const stem = ext ? base.slice(0, base.length - ext.length) : base;
  const outExt = setting === 'same' ? base.slice(base.length - ext.length) : EXTENSION_OF_FORMAT[setting];
  return `${String(seq).padStart(6, '0')}-${stem}${outExt}`;
}

/** A page to correct at full resolution on a transform thread. */
export interface FullResolutionTask {
  /** The original's bytes (transferred; must own their ArrayBuffer). */
  original: Uint8Array;
  row: CorrectionRow;
  /** `same`: the original's own format. */
  format: ImageFormat | 'same';
  quality: number;
}

/** The encoded corrected page. */
export interface FullResolutionImage {
  bytes: Uint8Array;
  format: ImageFormat;
}

/**
 * A page's correction applied to its original at full resolution (`applyCorrection`: EXIF
 * orientation baked in, turn + deskew on the expanded canvas filled with the margin colour, the
 * dewarp from the row's control points, DPI kept), encoded.
 */
export async function correctedPageImage(task: FullResolutionTask): Promise<FullResolutionImage> {
  let format = task.format;
  if (format === 'same') {
    const input = (await sharp(task.original).metadata()).format;
    const known = Object.values(FORMAT_OF_EXTENSION).find((f) => f === input);
    if (!known) throw new Error(`the original is ${input ?? 'of an unknown format'}, which cannot be written back as the same format`);
    format = known;
  }
  const encoded = await applyCorrection(task.original, task.row, { format, quality: task.quality });
  const bytes = new Uint8Array(new ArrayBuffer(encoded.length));
  bytes.set(encoded);
  return { bytes, format };
}

/** Transform-thread task: `correctedPageImage`, its bytes moved back to the caller, not copied. */
export async function fullResolutionImage(task: FullResolutionTask): Promise<FullResolutionImage> {
  const image = await correctedPageImage(task);
  return moveWith(image, [image.bytes.buffer]);
}
