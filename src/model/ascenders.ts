import type { LineFit } from './textlines';
import { LINE_TUNING } from './textlines/tuning';

/**
 * The glyph-shape cue to a page's 0-or-180 (what Leptonica's and Tesseract's orientation detection
 * build on): in Latin script, roman or blackletter, ascenders and capitals (b d f h k l t ſ …)
 * outnumber descenders (g j p q y), so a text line's ink reaches farther above its x-height band
 * than below it; upside down it is the other way round. It needs no legible glyphs, only the
 * line's profile across its length, and reads small print (the 1853 Weekly Journal's 4 px
 * letters, Fleming 1719's blackletter at analysis size) that the direction classifier guesses on.
 */

/** The cue's tuning. */
export const ASCENDERS = {
  /** Lines at least this many line heights long are read. */
  minLengthHeights: 5,
  /** The profile across a line spans this many line heights either side of its centre path ... */
  reachHeights: 2.5,
  /** ... in this many bins. */
  bins: 80,
  /** The x-height band: the bins around the profile's peak at least this share of it. */
  coreShare: 0.5,
  /** Beyond each edge of the band, the gap between lines is looked for within this many band heights. */
  gapBands: 1.5,
};

/** Lines whose ink reaches farther above their x-height band (`up`: read upright) and below it (`down`: upside down). */
export interface AscenderVote {
  up: number;
  down: number;
}

/**
 * The darkness profile across one line, from `reachHeights` line heights above its centre path
 * (bin 0) to as many below (down of the text: the reading direction turned 90° clockwise, as the
 * classifier's crops have it), each sample's darkness scaled between the line's own paper and ink
 * levels (so a dark, low-contrast scan reads like a clean one); undefined without contrast. The
 * samples (bilinear grey, mean of RGB) are counted per bin and grey level first, the levels read
 * from their histogram.
 */
function profileAcross({ line }: LineFit, sums: Uint16Array, width: number, height: number, counts: Uint32Array): Float64Array | undefined {
  const { bins, reachHeights } = ASCENDERS;
  const half = reachHeights * line.height;
  const step = (2 * half) / (bins - 1);
  const along = Math.max(1, line.height / 3);
  counts.fill(0);
  // Each bin's offset across the segment (−dy·t, dx·t for t from −half to half), once a segment.
  const acrossX = new Float64Array(bins);
  const acrossY = new Float64Array(bins);
  const { points } = line;
  for (let s = 0; s + 1 < points.length; s++) {
    const [x0, y0] = points[s];
    const [x1, y1] = points[s + 1];
    const len = Math.hypot(x1 - x0, y1 - y0);
    if (len === 0) continue;
    const dx = (x1 - x0) / len;
    const dy = (y1 - y0) / len;
    for (let b = 0; b < bins; b++) {
      const t = -half + b * step;
      acrossX[b] = dy * t;
      acrossY[b] = dx * t;
    }
    for (let a = 0; a < len; a += along) {
      const alongX = x0 + dx * a;
      const alongY = y0 + dy * a;
      for (let b = 0; b < bins; b++) {
        const x = alongX - acrossX[b];
        const y = alongY + acrossY[b];
        const xi = Math.floor(x);
        const yi = Math.floor(y);
        if (xi < 0 || yi < 0 || xi + 1 >= width || yi + 1 >= height) continue;
        const fx = x - xi;
        const fy = y - yi;
        const p = yi * width + xi;
        const q = p + width;
        const top = sums[p] * (1 - fx) + sums[p + 1] * fx;
        const bottom = sums[q] * (1 - fx) + sums[q + 1] * fx;
        counts[b * 256 + (((top * (1 - fy) + bottom * fy) / 3) | 0)]++;
      }
    }
  }
  const hist = new Uint32Array(256);
  let total = 0;
  for (let b = 0; b < bins; b++)
    for (let g = 0; g < 256; g++) {
      hist[g] += counts[b * 256 + g];
      total += counts[b * 256 + g];
    }
  if (total === 0) return undefined;
  const ink = greyLevel(hist, LINE_TUNING.inkQuantile * total);
  const paper = greyLevel(hist, LINE_TUNING.paperQuantile * total);
  if (paper - ink < LINE_TUNING.minInkContrast) return undefined;
  // Each grey level's darkness between the paper and the ink level, once a line.
  const darkness = new Float64Array(paper);
  for (let g = 0; g < paper; g++) darkness[g] = Math.min(1, (paper - g) / (paper - ink));
  const profile = new Float64Array(bins);
  for (let b = 0; b < bins; b++)
    for (let g = 0; g < paper; g++) profile[b] += counts[b * 256 + g] * darkness[g];
  return profile;
}

/** The first grey level of `hist` whose running count exceeds `rank`; 255 when none does. */
function greyLevel(hist: Uint32Array, rank: number): number {
  let acc = 0;
  for (let g = 0; g < 256; g++) if ((acc += hist[g]) > rank) return g;
  return 255;
}

/** Each pixel's R + G + B (three times its grey level, exactly) of interleaved RGB `pixels`. */
function channelSums(pixels: Uint8Array): Uint16Array {
  const sums = new Uint16Array(pixels.length / 3);
  for (let i = 0, p = 0; i < sums.length; i++, p += 3) sums[i] = pixels[p] + pixels[p + 1] + pixels[p + 2];
  return sums;
}

/**
 * Which way one line's profile leans: +1 when more ink lies between its x-height band and the gap
 * above it than between the band and the gap below, −1 the other way, 0 when it cannot tell. The
 * band is found around the profile's peak near the centre path; each gap is the profile's lowest
 * point within `gapBands` band heights of the band's edge, and the ink is counted over that gap's
 * level (the neighbouring line and the paper between cancel).
 */
function lineLean(profile: Float64Array): -1 | 0 | 1 {
  const n = profile.length;
  let peak = Math.floor(0.3 * n);
  for (let b = peak; b < 0.7 * n; b++) if (profile[b] > profile[peak]) peak = b;
  if (profile[peak] <= 0) return 0;
  const floor = ASCENDERS.coreShare * profile[peak];
  let top = peak;
  let bottom = peak;
  while (top > 0 && profile[top - 1] >= floor) top--;
  while (bottom < n - 1 && profile[bottom + 1] >= floor) bottom++;
  const reach = Math.round(ASCENDERS.gapBands * (bottom - top + 1));
  let gapAbove = top - 1;
  let gapBelow = bottom + 1;
  if (gapAbove < 0 || gapBelow >= n) return 0;
  for (let b = gapAbove; b >= Math.max(0, top - reach); b--) if (profile[b] < profile[gapAbove]) gapAbove = b;
  for (let b = gapBelow; b <= Math.min(n - 1, bottom + reach); b++) if (profile[b] < profile[gapBelow]) gapBelow = b;
  let above = 0;
  let below = 0;
  for (let b = gapAbove; b < top; b++) above += profile[b] - profile[gapAbove];
  for (let b = bottom + 1; b <= gapBelow; b++) below += profile[b] - profile[gapBelow];
  return above > below ? 1 : below > above ? -1 : 0;
}

/**
 * The ascender vote of a page's lines (`lines` in their base frame's reading direction, on the
 * frame's RGB `pixels`): how many lines of at least ASCENDERS.minLengthHeights heights lean up
 * (`lineLean`, upright) and how many down (upside down).
 */
export function ascenderVote(lines: LineFit[], pixels: Uint8Array, width: number, height: number): AscenderVote {
  const vote = { up: 0, down: 0 };
  const voting = lines.filter((l) => l.length >= ASCENDERS.minLengthHeights * l.line.height);
  if (voting.length === 0) return vote;
  const sums = channelSums(pixels);
  const counts = new Uint32Array(ASCENDERS.bins * 256);
  for (const l of voting) {
    const profile = profileAcross(l, sums, width, height, counts);
    const lean = profile ? lineLean(profile) : 0;
    if (lean > 0) vote.up++;
    else if (lean < 0) vote.down++;
  }
  return vote;
}
