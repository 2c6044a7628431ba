import sharp from 'sharp';
import type { PageSummary } from '../types';

/** Longest side of a report thumbnail, pixels. */
export const THUMB_MAX_SIDE = 240;

/** A small JPEG of a page with the text lines detected on it, in thumbnail pixels. */
export interface Figure {
  /** `data:image/jpeg;base64,...` */
  src: string;
  width: number;
  height: number;
  /** One polyline per text line. */
  lines: Array<Array<[number, number]>>;
}

/**
 * A thumbnail of `bytes` upright as displayed (its EXIF orientation applied, as the decoder does)
 * and turned counter-clockwise by `rotateDeg` (white corners), with the lines of `summary` scaled
 * from the summary's frame (`width`×`height`) onto it. The image is shrunk before it is rotated, so
 * big scans stay cheap.
 */
export async function figureOf(bytes: Uint8Array, rotateDeg: number, summary: PageSummary): Promise<Figure> {
  let image = sharp(await sharp(bytes).rotate().resize(2 * THUMB_MAX_SIDE, 2 * THUMB_MAX_SIDE, { fit: 'inside', withoutEnlargement: true }).png().toBuffer());
  if (rotateDeg !== 0) image = sharp(await image.rotate(-rotateDeg, { background: 'white' }).png().toBuffer());
  const { data, info } = await image
    .resize(THUMB_MAX_SIDE, THUMB_MAX_SIDE, { fit: 'inside', withoutEnlargement: true })
    .flatten({ background: 'white' })
    .jpeg({ quality: 70 })
    .toBuffer({ resolveWithObject: true });
  const sx = info.width / summary.width;
  const sy = info.height / summary.height;
  return {
    src: `data:image/jpeg;base64,${data.toString('base64')}`,
    width: info.width,
    height: info.height,
    lines: summary.lines.map((line) => line.points.map(([x, y]): [number, number] => [x * sx, y * sy])),
  };
}
