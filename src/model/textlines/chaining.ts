import { leastSquaresSlope, type Fragment } from './fits';
import { LINE_TUNING } from './tuning';

/**
 * Step 3 of the text-line analysis: a text line the detector broke up (a column gutter, a wide
 * word gap, a curled line) is chained back together from its fragments, so a line is a whole text
 * line.
 */

/** The end of a fragment a neighbour may join: where it is and where its path heads. */
interface End { u: number; v: number; slope: number }

/** The start (`atEnd` false) or end of a fragment, its slope fitted over its last bins (LINE_TUNING.endSlopeParts). */
function endOf(f: Fragment, atEnd: boolean): End {
  const k = Math.max(LINE_TUNING.minEndBins, Math.ceil(f.centres.length / LINE_TUNING.endSlopeParts));
  const part = atEnd ? f.centres.slice(-k) : f.centres.slice(0, k);
  const [u, v] = atEnd ? f.centres[f.centres.length - 1] : f.centres[0];
  return { u, v, slope: part.length >= LINE_TUNING.minEndBins ? leastSquaresSlope(part) : f.slope };
}

/** A fragment as a link of a chain: its height and the ends it joins by. */
interface Link { height: number; start: End; end: End }

/**
 * The cost of continuing fragment `a` with fragment `b` (lower is better), or undefined when `b`
 * cannot be the next part of `a`'s line: `b` must start after `a` ends (overlapping by at most
 * maxOverlapHeights line heights), within maxGapHeights, at a similar height (minHeightShare), and
 * both paths, extrapolated along their end slopes to the middle of the gap, must meet within
 * maxOffsetHeights (LINE_TUNING).
 */
function joinCost(a: Link, b: Link): number | undefined {
  const { minHeightShare, maxOverlapHeights, maxGapHeights, maxOffsetHeights } = LINE_TUNING;
  const height = Math.max(a.height, b.height);
  if (Math.min(a.height, b.height) < minHeightShare * height) return undefined;
  const { end } = a;
  const { start } = b;
  const gap = start.u - end.u;
  if (gap < -maxOverlapHeights * height || gap > maxGapHeights * height) return undefined;
  const middle = (end.u + start.u) / 2;
  const offset = Math.abs(end.v + end.slope * (middle - end.u) - (start.v + start.slope * (middle - start.u)));
  if (offset > maxOffsetHeights * height) return undefined;
  return offset / height + Math.max(0, gap) / (maxGapHeights * height);
}

/**
 * Chains fragments into whole text lines: the cheapest joins first, each fragment continued by at
 * most one other and continuing at most one. A fragment is at least minLengthThickness line heights
 * long and may overlap the next by maxOverlapHeights (less), so along a chain the start u only
 * grows: no cycles.
 */
export function groupFragments(fragments: Fragment[]): Fragment[][] {
  const links: Link[] = fragments.map((f) => ({ height: f.height, start: endOf(f, false), end: endOf(f, true) }));
  const joins: Array<{ a: number; b: number; cost: number }> = [];
  links.forEach((a, i) =>
    links.forEach((b, j) => {
      if (i === j) return;
      const cost = joinCost(a, b);
      if (cost !== undefined) joins.push({ a: i, b: j, cost });
    }),
  );
  joins.sort((x, y) => x.cost - y.cost);
  const next = new Map<number, number>();
  const joined = new Set<number>();
  for (const { a, b } of joins) {
    if (next.has(a) || joined.has(b)) continue;
    next.set(a, b);
    joined.add(b);
  }
  const chains: Fragment[][] = [];
  fragments.forEach((_, i) => {
    if (joined.has(i)) return;
    const chain = [fragments[i]];
    for (let k = next.get(i); k !== undefined; k = next.get(k)) chain.push(fragments[k]);
    chains.push(chain);
  });
  return chains;
}
