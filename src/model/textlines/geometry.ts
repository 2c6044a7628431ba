import type { TextLine } from '../../types';

/**
 * The frames and shapes the text-line analysis measures in. A line is measured in a base frame
 * (e = reading direction, n = e turned 90° clockwise = "down" of the text) for one of two base
 * orientations: 0 (lines run along x) or 90 (lines run along y, read top to bottom). Telling 0 from
 * 180 and 90 from 270 needs the pixels (see `../orientation.ts`); it only reverses the points.
 */

export type Vec = [number, number];

/** One text-line candidate in the base frame. */
export interface LineFit {
  line: TextLine;
  /** Angle of the line's centre path (robust fit) from e, degrees clockwise. */
  regressionDeg: number;
  length: number;
  area: number;
}

export interface PageGeometry {
  baseOrientation: 0 | 90;
  /** 0..1: how clearly the components run along the base orientation's axis (0: as much along the other). */
  axisAgreement: number;
  /** The line-shaped components, each measured on its own. */
  fragments: LineFit[];
  /** Whole text lines: the fragments chained in reading direction (see `groupFragments`). */
  lines: LineFit[];
  /** Text pixels of the measured lines in the base frame: u, v, probability, triple after triple. */
  ink: Float32Array;
  /**
   * The page's own dark pixels around the measured lines, in the base frame: u, v, darkness
   * (`pageInk`); absent without the frame's pixels or on a page without contrast.
   */
  glyphInk?: Float32Array;
  /**
   * The frame's darkest pixels in the base frame (`darkestInk`), computed on demand: only a page
   * whose lines cannot measure its skew pays for them (see `estimateSkew`). Absent without the
   * frame's pixels.
   */
  darkestInk?: () => Float32Array | undefined;
  /** Fraction of pixels above the threshold. */
  coverage: number;
}

/** The reading direction e and the text's down direction n of a base orientation. */
export function baseFrame(orientation: 0 | 90): { e: Vec; n: Vec } {
  return orientation === 0 ? { e: [1, 0], n: [0, 1] } : { e: [0, 1], n: [-1, 0] };
}

/** The base frame turned clockwise by `skewDeg` (the frame the page's lines actually run in). */
export function skewedFrame(orientation: 0 | 90, skewDeg: number): { e: Vec; n: Vec } {
  const { e, n } = baseFrame(orientation);
  const [c, s] = [Math.cos((skewDeg * Math.PI) / 180), Math.sin((skewDeg * Math.PI) / 180)];
  return { e: [e[0] * c + n[0] * s, e[1] * c + n[1] * s], n: [n[0] * c - e[0] * s, n[1] * c - e[1] * s] };
}
