import { modulation } from './components';
import type { Vec } from './geometry';
import { LINE_TUNING } from './tuning';

/**
 * The page's own ink around its text lines, for the skew search: the dark pixels of the page
 * (not the detector's map) within the text-line regions widened across the lines, each weighted by
 * how dark it is between the page's paper and ink levels. The detector's regions of a tilted line
 * are word blobs less tilted than the glyphs (on the dev set's book pages they pulled the map's
 * profile 0.15–0.35° toward 0° at ±15°); the glyphs' own baselines and x-height edges are not, and
 * a page's horizontal rules near its text count too.
 */

/**
 * Marks the pixels within `reach` px, across the lines (along n: y for base 0, x for base 90), of
 * a kept component's pixel.
 */
function widenedRegion(labels: Int32Array, keep: Array<unknown>, width: number, height: number, acrossY: boolean, reach: number): Uint8Array {
  const region = new Uint8Array(width * height);
  const kept = (p: number) => labels[p] >= 0 && keep[labels[p]] !== undefined;
  if (acrossY) {
    // Row by row (memory order), each column's distance to its last kept pixel above, then below.
    const last = new Float64Array(width);
    last.fill(-Infinity);
    for (let y = 0, p = 0; y < height; y++)
      for (let x = 0; x < width; x++, p++) {
        if (kept(p)) last[x] = y;
        if (y - last[x] <= reach) region[p] = 1;
      }
    last.fill(Infinity);
    for (let y = height - 1; y >= 0; y--)
      for (let x = 0, p = y * width; x < width; x++, p++) {
        if (kept(p)) last[x] = y;
        if (last[x] - y <= reach) region[p] = 1;
      }
    return region;
  }
  for (let y = 0; y < height; y++) {
    let last = -Infinity;
    for (let x = 0, p = y * width; x < width; x++, p++) {
      if (kept(p)) last = x;
      if (x - last <= reach) region[p] = 1;
    }
    last = Infinity;
    for (let x = width - 1, p = y * width + x; x >= 0; x--, p--) {
      if (kept(p)) last = x;
      if (last - x <= reach) region[p] = 1;
    }
  }
  return region;
}

/** The grey level below which `q` of the region's pixels lie. */
function quantile(hist: Uint32Array, total: number, q: number): number {
  let acc = 0;
  for (let g = 0; g < hist.length; g++) if ((acc += hist[g]) > q * total) return g;
  return hist.length - 1;
}

/**
 * The page's ink around the kept components as (u, v, weight) triples in the base frame (e, n),
 * centred on their mean, or undefined when the region has no contrast (paper and ink levels closer
 * than LINE_TUNING.minInkContrast). `reach` is how far across the lines the region extends.
 */
export function pageInk(pixels: Uint8Array, width: number, height: number, labels: Int32Array, keep: Array<unknown>, e: Vec, n: Vec, reach: number): Float32Array | undefined {
  const region = widenedRegion(labels, keep, width, height, n[1] !== 0, Math.max(1, Math.round(reach)));
  const grey = new Uint8Array(width * height);
  const hist = new Uint32Array(256);
  let total = 0;
  for (let p = 0; p < region.length; p++) {
    if (!region[p]) continue;
    const g = ((pixels[3 * p] + pixels[3 * p + 1] + pixels[3 * p + 2]) / 3) | 0;
    grey[p] = g;
    hist[g]++;
    total++;
  }
  const ink = quantile(hist, total, LINE_TUNING.inkQuantile);
  const paper = quantile(hist, total, LINE_TUNING.paperQuantile);
  if (paper - ink < LINE_TUNING.minInkContrast) return undefined;
  // Pixels lighter than half-way between ink and paper weigh nothing: paper, its noise, bleed-through.
  const middle = (ink + paper) / 2;
  const spread = middle - ink;
  let count = 0;
  for (let p = 0; p < region.length; p++) if (region[p] && grey[p] < middle) count++;
  if (count === 0) return undefined;
  return centredTriples(width, height, e, n, count, (p) => (region[p] && grey[p] < middle ? Math.min(1, (middle - grey[p]) / spread) : 0));
}

/**
 * The whole frame's grey levels ((R + G + B) / 3), their histogram and its ink and paper levels
 * (LINE_TUNING.inkQuantile, paperQuantile); undefined on a frame without contrast (the two closer
 * than LINE_TUNING.minInkContrast).
 */
function frameGrey(pixels: Uint8Array, width: number, height: number): { grey: Uint8Array; hist: Uint32Array; ink: number; paper: number } | undefined {
  const hist = new Uint32Array(256);
  const grey = new Uint8Array(width * height);
  for (let p = 0; p < grey.length; p++) hist[(grey[p] = ((pixels[3 * p] + pixels[3 * p + 1] + pixels[3 * p + 2]) / 3) | 0)]++;
  const ink = quantile(hist, grey.length, LINE_TUNING.inkQuantile);
  const paper = quantile(hist, grey.length, LINE_TUNING.paperQuantile);
  return paper - ink < LINE_TUNING.minInkContrast ? undefined : { grey, hist, ink, paper };
}

/**
 * The frame's darkest pixels (LINE_TUNING.darkestShare of them) as (u, v, 1) triples in the base
 * frame (e, n), centred on their mean, for the whole-page skew search: rules, headlines and the
 * blackest strokes, wherever the detector found lines or not. Undefined on a frame without
 * contrast (as `pageInk`).
 */
export function darkestInk(pixels: Uint8Array, width: number, height: number, e: Vec, n: Vec): Float32Array | undefined {
  const frame = frameGrey(pixels, width, height);
  if (!frame) return undefined;
  const { grey, hist } = frame;
  const cut = quantile(hist, grey.length, LINE_TUNING.darkestShare); // pixels at or below this grey level
  let count = 0;
  for (let g = 0; g <= cut; g++) count += hist[g];
  return centredTriples(width, height, e, n, count, (p) => (grey[p] <= cut ? 1 : 0));
}

/**
 * The `count` pixels to which `weightOf` gives a weight above 0, as (u, v, weight) triples in the
 * base frame (e, n), u and v centred on their mean.
 */
function centredTriples(width: number, height: number, e: Vec, n: Vec, count: number, weightOf: (p: number) => number): Float32Array {
  const out = new Float32Array(3 * count);
  let sumU = 0;
  let sumV = 0;
  for (let y = 0, p = 0, i = 0; y < height; y++)
    for (let x = 0; x < width; x++, p++) {
      const weight = weightOf(p);
      if (weight <= 0) continue;
      const u = x * e[0] + y * e[1];
      const v = x * n[0] + y * n[1];
      out[i++] = u;
      out[i++] = v;
      out[i++] = weight;
      sumU += u;
      sumV += v;
    }
  for (let i = 0; i < out.length; i += 3) {
    out[i] -= sumU / count;
    out[i + 1] -= sumV / count;
  }
  return out;
}

/**
 * Which axis the page's own text lines run along, from its dark pixels' row and column profiles
 * (the modulation of `profileAxis`, on the page's pixels instead of the detector's map): a cue for
 * a page whose detector components leave the axis open (a page turned by 90°, whose text the
 * detector breaks into glyph-sized blobs). Undefined on a page without contrast.
 */
export function pageAxis(pixels: Uint8Array, width: number, height: number): { axis: 0 | 90; ratio: number } | undefined {
  const frame = frameGrey(pixels, width, height);
  if (!frame) return undefined;
  const { grey, ink, paper } = frame;
  const middle = (ink + paper) / 2;
  const rows = new Float64Array(height);
  const cols = new Float64Array(width);
  for (let y = 0, p = 0; y < height; y++)
    for (let x = 0; x < width; x++, p++)
      if (grey[p] < middle) {
        rows[y]++;
        cols[x]++;
      }
  const alongX = modulation(rows); // lines along x modulate the row profile
  const alongY = modulation(cols);
  if (alongX === 0 && alongY === 0) return undefined;
  return alongY > alongX ? { axis: 90, ratio: alongY / Math.max(alongX, 1e-12) } : { axis: 0, ratio: alongX / Math.max(alongY, 1e-12) };
}
