import sharp, { type Sharp } from 'sharp';
import type { TextLine } from '../types';
import type { RgbImage } from './image';
import { loadOpenCv, matFromRgb, rgbFromMat, white } from './opencv';

/**
 * A counter-clockwise rotation of a frame onto a canvas big enough to hold all of it, optionally
 * scaled down so the canvas's longest side fits `maxSide`. Pixel centres are at integer
 * coordinates; a source point (x, y) lands at (a·x + b·y + c, d·x + e·y + f) on the canvas.
 */
export interface Rotation {
  /** Canvas size. */
  width: number;
  height: number;
  /** The source → canvas affine map, row-major [a, b, c, d, e, f]. */
  matrix: [number, number, number, number, number, number];
}

/**
 * How a rotation is carried out on pixels. Both give the same pixels (bilinear, white outside),
 * except that when the canvas is scaled the outermost pixel ring may differ slightly.
 */
export type RotateBackend = 'sharp' | 'opencv';

/**
 * The faster backend where it matters (bench/transformBench.ts, 2 shared cores, medians of 5): at
 * analysis scale (1086×1536) OpenCV's warpAffine takes 48 ms against libvips' 52 ms at 3.5° and
 * 52 against 66 ms at 90°; at 2480×3508 the two are within noise of each other (270–300 ms).
 */
export const defaultRotateBackend: RotateBackend = 'opencv';

/** Snaps values within 1e-12 of an integer to it, so quarter turns map pixels exactly. */
function snap(v: number): number {
  const r = Math.round(v);
  return Math.abs(v - r) < 1e-12 ? r : v;
}

/**
 * The rotation that corrects content turned clockwise by `rotateDeg`: the frame is turned
 * counter-clockwise by `rotateDeg` about its centre, onto a white canvas grown to its bounding box
 * and, when that box is longer than `maxSide`, scaled down to fit.
 */
export function planRotation(width: number, height: number, rotateDeg: number, maxSide = Infinity): Rotation {
  if (!(width > 0 && height > 0)) throw new Error(`rotate: bad frame size ${width}×${height}`);
  if (!Number.isFinite(rotateDeg)) throw new Error(`rotate: bad angle ${rotateDeg}`);
  const rad = (rotateDeg * Math.PI) / 180;
  const cos = snap(Math.cos(rad));
  const sin = snap(Math.sin(rad));
  const boxWidth = width * Math.abs(cos) + height * Math.abs(sin);
  const boxHeight = width * Math.abs(sin) + height * Math.abs(cos);
  const scale = Math.min(1, maxSide / Math.max(boxWidth, boxHeight));
  const canvasWidth = Math.max(1, Math.ceil(boxWidth * scale - 1e-9));
  const canvasHeight = Math.max(1, Math.ceil(boxHeight * scale - 1e-9));
  // Counter-clockwise on screen (y down): x' = cos·x + sin·y, y' = −sin·x + cos·y, centre to centre.
  const [a, b, d, e] = [scale * cos, scale * sin, -scale * sin || 0, scale * cos];
  const [cx, cy] = [(width - 1) / 2, (height - 1) / 2];
  const [ox, oy] = [(canvasWidth - 1) / 2, (canvasHeight - 1) / 2];
  return { width: canvasWidth, height: canvasHeight, matrix: [a, b, ox - a * cx - b * cy, d, e, oy - d * cx - e * cy] };
}

/** True when the rotation leaves every pixel where it is. */
export function isIdentityRotation(rotation: Rotation, width: number, height: number): boolean {
  const [a, b, c, d, e, f] = rotation.matrix;
  return rotation.width === width && rotation.height === height && a === 1 && b === 0 && c === 0 && d === 0 && e === 1 && f === 0;
}

/** Where a source point lands on the rotated canvas. */
export function rotatePoint(rotation: Rotation, point: readonly [number, number]): [number, number] {
  return applyAffine(rotation.matrix, point);
}

/** A row-major 2×3 affine map [a, b, c, d, e, f]: (x, y) → (a·x + b·y + c, d·x + e·y + f). */
export type Affine = Rotation['matrix'];

/** The inverse of an affine map. */
export function invertAffine([a, b, c, d, e, f]: Affine): Affine {
  const det = a * e - b * d;
  if (!(Math.abs(det) > 1e-15)) throw new Error('affine map is not invertible');
  const [ia, ib, id, ie] = [e / det, -b / det, -d / det, a / det];
  return [ia, ib, -(ia * c + ib * f), id, ie, -(id * c + ie * f)];
}

/** The map that applies `first`, then `second`. */
export function composeAffine(second: Affine, first: Affine): Affine {
  const [a, b, c, d, e, f] = second;
  const [p, q, r, s, t, u] = first;
  return [a * p + b * s, a * q + b * t, a * r + b * u + c, d * p + e * s, d * q + e * t, d * r + e * u + f];
}

/** Where `affine` takes a point. */
export function applyAffine([a, b, c, d, e, f]: Affine, [x, y]: readonly [number, number]): [number, number] {
  return [a * x + b * y + c, d * x + e * y + f];
}

/** Text lines carried onto the rotated canvas: paths mapped, sizes scaled, angles turned. */
export function rotateTextLines(rotation: Rotation, lines: readonly TextLine[]): TextLine[] {
  const [a, b] = rotation.matrix;
  const scale = Math.hypot(a, b);
  const turnDeg = (Math.atan2(b, a) * 180) / Math.PI;
  return lines.map((line) => ({
    points: line.points.map((p) => rotatePoint(rotation, p)),
    height: line.height * scale,
    angleDeg: line.angleDeg - turnDeg,
    curvaturePx: line.curvaturePx * scale,
  }));
}

/** Rotates `image` as `rotation` says (bilinear, white outside), on the chosen backend. */
export async function rotateImage(image: RgbImage, rotation: Rotation, backend: RotateBackend = defaultRotateBackend): Promise<RgbImage> {
  return backend === 'sharp' ? rotateWithSharp(image, rotation) : rotateWithOpenCv(image, rotation);
}

/** OpenCV: one warpAffine straight onto the canvas. */
async function rotateWithOpenCv(image: RgbImage, rotation: Rotation): Promise<RgbImage> {
  const { cv } = await loadOpenCv();
  const src = matFromRgb(cv, image);
  const dst = new cv.Mat();
  const matrix = cv.matFromArray(2, 3, cv.CV_64F, rotation.matrix);
  try {
    cv.warpAffine(src, dst, matrix, new cv.Size(rotation.width, rotation.height), cv.INTER_LINEAR, cv.BORDER_CONSTANT, white(cv));
    return rgbFromMat(dst);
  } finally {
    src.delete();
    dst.delete();
    matrix.delete();
  }
}

/**
 * libvips' affine along one output axis `p·x + q·y + t`. Its output window is fixed by the linear
 * part alone (the rounded box of the corners (0,0)…(w,h): `round(|p|·w + |q|·h)` wide) and the translation moves the content
 * within it, sampled at pixel indices. So libvips gets the translation's fraction plus the whole
 * shift that puts the first pixel centre on the window's first pixel, and the window lies `paste`
 * pixels into the canvas.
 */
function vipsAxis(p: number, q: number, t: number, width: number, height: number): { translate: number; paste: number } {
  const lowest = (w: number, h: number) => Math.min(0, p * w) + Math.min(0, q * h);
  const window = Math.round(lowest(width, height));
  const whole = Math.round(t);
  const shift = Math.round(window - (lowest(width - 1, height - 1) + t - whole));
  return { translate: t - whole + shift, paste: window + whole - shift };
}

/** A fill colour for libvips, 0–255 per channel. */
export type Rgb = readonly [number, number, number];

/**
 * `rotation` applied by libvips to `input` (a `width`×`height` RGB pipeline, not yet run): its
 * bilinear affine, then the canvas completed around the affine's window, everything outside the
 * frame filled with `background`. The window always lies inside the canvas, at most a pixel short
 * on a side (see {@link vipsAxis}); both steps run inside the one libvips pipeline, so an encoder
 * added after them streams the result without a raster in JS.
 */
export function rotateOnVips(input: Sharp, width: number, height: number, rotation: Rotation, background: Rgb): Sharp {
  const [a, b, c, d, e, f] = rotation.matrix;
  const x = vipsAxis(a, b, c, width, height);
  const y = vipsAxis(d, e, f, width, height);
  const [windowWidth, windowHeight] = [Math.round(Math.abs(a) * width + Math.abs(b) * height), Math.round(Math.abs(d) * width + Math.abs(e) * height)];
  const [right, bottom] = [rotation.width - x.paste - windowWidth, rotation.height - y.paste - windowHeight];
  if (x.paste < 0 || y.paste < 0 || right < 0 || bottom < 0) {
    throw new Error(`rotate: libvips' ${windowWidth}×${windowHeight} window at (${x.paste}, ${y.paste}) does not fit the ${rotation.width}×${rotation.height} canvas`);
  }
  const fill = { r: background[0], g: background[1], b: background[2] };
  return input
    .affine([[a, b], [d, e]], { odx: x.translate, ody: y.translate, background: fill, interpolator: sharp.interpolators.bilinear })
    .extend({ left: x.paste, top: y.paste, right, bottom, background: fill });
}

/** libvips' affine onto a white canvas (see {@link rotateOnVips}), copied into a JS-owned (transferable) image. */
async function rotateWithSharp(image: RgbImage, rotation: Rotation): Promise<RgbImage> {
  const { width, height } = image;
  const input = sharp(image.pixels, { raw: { width, height, channels: 3 } });
  const { data, info } = await rotateOnVips(input, width, height, rotation, [255, 255, 255]).raw().toBuffer({ resolveWithObject: true });
  if (info.width !== rotation.width || info.height !== rotation.height) throw new Error(`rotate: libvips gave ${info.width}×${info.height}, the canvas is ${rotation.width}×${rotation.height}`);
  return { width: info.width, height: info.height, pixels: new Uint8Array(data) };
}
