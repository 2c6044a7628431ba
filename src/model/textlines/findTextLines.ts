import { groupFragments } from './chaining';
import { centrePaths, componentSums, dominantAxis, labelComponents, profileAxis, type PathBins } from './components';
import { fitOf, type Fragment } from './fits';
import { baseFrame, type PageGeometry, type Vec } from './geometry';
import { darkestInk, pageAxis, pageInk } from './pageInk';
import { inkOf } from './skewSearch';
import { LINE_TUNING } from './tuning';

/** The analysis steps 1–3 put together: a probability map in, the page's line geometry out. */

export interface LineOptions {
  /** Probability above which a pixel is text. */
  threshold: number;
  /** Components smaller than this (pixels) are noise. */
  minArea: number;
}

export const defaultLineOptions: LineOptions = { threshold: 0.3, minArea: 24 };

/**
 * Finds the text lines of a probability map in the base orientation its components suggest: the
 * line-shaped components (`fragments`) and the whole lines they chain into (`lines`). Given the
 * frame's RGB `pixels`, the skew search reads the page's own ink around the lines (`pageInk`), and
 * where the lines cannot measure the page, its darkest pixels (`darkestInk`); without them (or on a
 * page without contrast), the map's.
 */
export function findTextLines(prob: Float32Array, width: number, height: number, pixels?: Uint8Array, options: LineOptions = defaultLineOptions): PageGeometry {
  const mask = new Uint8Array(width * height);
  let on = 0;
  for (let i = 0; i < mask.length; i++) if (prob[i] > options.threshold) { mask[i] = 1; on++; }
  const { labels, count } = labelComponents(mask, width, height);
  const alongX = componentSums(prob, labels, count, width, [1, 0], [0, 1]);
  const components = dominantAxis(alongX);
  const profiles = profileAxis(prob, width, height);
  // Where the detector merged a column's lines into one blob, the blob runs along the column, not
  // along its lines: the profiles across the lines, modulated line by line, then tell better.
  let baseOrientation = components.axis;
  let axisAgreement = components.agreement;
  if (profiles.ratio >= LINE_TUNING.profileOverrule && profiles.axis !== components.axis) {
    baseOrientation = profiles.axis;
    axisAgreement = 1 - 1 / profiles.ratio;
  } else if (pixels && components.agreement < LINE_TUNING.weakAxisAgreement) {
    // Components split nearly evenly between the axes (a page turned by 90°, whose lines the
    // detector breaks into glyph-sized blobs): the page's own ink tells the axis, and how sure it
    // is, whether it agrees with the components or not.
    const page = pageAxis(pixels, width, height);
    if (page && page.ratio >= LINE_TUNING.pageAxisOverrule) {
      baseOrientation = page.axis;
      axisAgreement = Math.max(page.axis === components.axis ? components.agreement : 0, 1 - 1 / page.ratio);
    }
  }
  const { e, n } = baseFrame(baseOrientation);
  const sums = baseOrientation === 0 ? alongX : componentSums(prob, labels, count, width, e, n);

  const keep: Array<PathBins | undefined> = Array.from({ length: count }, () => undefined);
  let inkCount = 0;
  const fits = new Map<number, { slope: number; length: number; thickness: number }>();
  sums.forEach((s, label) => {
    if (s.area < options.minArea) return;
    const length = s.uMax - s.uMin + 1;
    const thickness = s.area / length;
    if (length < LINE_TUNING.minLengthThickness * thickness) return;
    const mu = s.u / s.w;
    const mv = s.v / s.w;
    const slope = (s.uv / s.w - mu * mv) / (s.uu / s.w - mu * mu);
    const binW = Math.max(LINE_TUNING.minBinPx, thickness, length / LINE_TUNING.pathBins);
    keep[label] = { binW, uMin: s.uMin, bins: new Float64Array(2 * (Math.floor(length / binW) + 1)) };
    inkCount += s.area;
    fits.set(label, { slope, length, thickness });
  });
  centrePaths(prob, labels, width, e, n, keep);

  const fragments: Fragment[] = [];
  keep.forEach((entry, label) => {
    if (!entry) return;
    const fit = fits.get(label)!;
    const centres: Vec[] = [];
    for (let b = 0; 2 * b < entry.bins.length; b++) {
      const w = entry.bins[2 * b];
      if (w > 0) centres.push([entry.uMin + (b + 0.5) * entry.binW, entry.bins[2 * b + 1] / w]);
    }
    if (centres.length >= 2) fragments.push({ centres, height: fit.thickness, length: fit.length, area: sums[label].area, slope: fit.slope });
  });
  const thicknesses = fragments.map((f) => f.height).sort((a, b) => a - b);
  const reach = LINE_TUNING.inkReachThickness * (thicknesses[thicknesses.length >> 1] ?? 0);
  return {
    baseOrientation,
    axisAgreement,
    fragments: fragments.map((f) => fitOf([f], e, n)),
    lines: groupFragments(fragments).map((chain) => fitOf(chain, e, n)),
    ink: inkOf(prob, labels, width, e, n, keep, inkCount),
    glyphInk: pixels && fragments.length > 0 ? pageInk(pixels, width, height, labels, keep, e, n, reach) : undefined,
    darkestInk: pixels ? () => darkestInk(pixels, width, height, e, n) : undefined,
    coverage: on / (width * height),
  };
}
