/**
 * The tuning of the text-line analysis, in one place: every number the steps below decide by
 * (components → fragments, line fits, fragment chaining, the projection-profile skew search, the
 * page summary). Lengths "in line heights" scale with the fragment's thickness, so they hold at any
 * analysis size; pixel figures are analysis-frame pixels.
 */
export const LINE_TUNING = {
  // --- Components → fragments (findTextLines) ---
  /**
   * How many times more line-to-line modulation one axis' profile must show than the other's for
   * the profiles to overrule the components' direction (`profileAxis`): where the detector merged
   * a column's lines into one blob, the blob runs along the column, not along its lines.
   */
  profileOverrule: 5,
  /**
   * Below this agreement of the components' axis (`dominantAxis`), the page's own dark pixels'
   * profiles (`pageAxis`) decide the axis, and its agreement (1 − 1/ratio), when they say one axis
   * at least pageAxisOverrule times more clearly, whether the components' axis or the other (the
   * Park Record turned by 270° + 2.3°: components 0.15 the right way, the page's ink 8.2 times).
   * On the dev set the components' axis was wrong only below 0.3 (the Topaz Times typewriter page
   * and the Park Record turned by 90°, 0.08–0.28); the page profiles are fooled by a skewed page's
   * fill and borders (up to 2.5 times the wrong way on pages whose components agree ≥ 0.98), hence
   * only where the components leave the axis open.
   */
  weakAxisAgreement: 0.3,
  pageAxisOverrule: 1.2,
  /** A component is line-shaped (a fragment) when it is at least this many times longer than thick. */
  minLengthThickness: 3,
  /** A fragment's centre path is binned along the line in bins of max(minBinPx, thickness, length / pathBins). */
  pathBins: 32,
  minBinPx: 2,

  // --- Line fits (fits.ts) ---
  /** The robust slope pairs interior bins at least 1/slopePairParts of the line's length apart ... */
  slopePairParts: 4,
  /** ... and needs at least this many such pairs (else the least-squares slope stands in). */
  minSlopePairs: 3,
  /** A fragment's end slope (where a neighbour may join) is fitted over 1/endSlopeParts of its bins ... */
  endSlopeParts: 3,
  /** ... and over at least this many bins. */
  minEndBins: 3,
  /** Where two fragments of a chain meet, their end bins are dropped, if a fragment has at least this many. */
  minBinsToTrim: 5,

  // --- Fragment chaining (chaining.ts) ---
  /** Two fragments of one line: the thinner at least this share of the thicker. */
  minHeightShare: 0.6,
  /** How far apart (in line heights) two fragments of one line may be along the line. */
  maxGapHeights: 24,
  /** How much (in line heights) two fragments of one line may overlap along the line. */
  maxOverlapHeights: 1,
  /** How far (in line heights) their paths may disagree where they meet. */
  maxOffsetHeights: 0.5,

  // --- Projection-profile skew search (skewSearch.ts) ---
  /** Width (σ, px) of the Gaussian each ink point is spread by in the skew search's profiles. */
  profileSigma: 0.7,
  /**
   * How far (°) from the lines' own angle the projection search looks. At ±15° the lines' angle
   * can be 0.7° off, so not narrower (±0.3° doubled the dev set's p95); but on a multi-column page
   * whose baselines step across the gutters, a tilt that lines up neighbouring columns makes a
   * second, false peak of the whole-page profile inside this window (a synthetic 8-column page at
   * 1.3° reads 0.4°; the 1853 Weekly Journal read ≈ 0.4° off until the page's own ink refined the
   * map's peak, see refineSpanDeg: now 0.06°).
   */
  projectionSpanDeg: 0.8,
  /** The search's steps (°), coarse to fine: each searches ± the previous step around the best so far. */
  projectionSteps: [0.1, 0.02, 0.005],
  /** The coarsest step scores every this-many-th ink pixel: it only has to land near the peak. */
  coarseSample: 4,
  /**
   * How far (°) from the map's profile peak the page's own ink refines it (see `estimateSkew`):
   * wide enough for the map's pull toward 0° at ±15° (≤ 0.4° on the dev set), narrow enough that
   * a dense small-print page, whose glyph profile has no clear peak, stays near the map's.
   */
  refineSpanDeg: 0.4,
  /**
   * The page's ink (pageInk.ts): the text regions widened across the lines by this many fragment
   * thicknesses (the detector's regions are the lines' shrunk cores; the glyphs reach beyond).
   */
  inkReachThickness: 1,
  /** The region's ink and paper levels: these quantiles of its grey levels. */
  inkQuantile: 0.05,
  paperQuantile: 0.9,
  /** Grey levels between ink and paper below which the region has no usable contrast (the map's reading stands). */
  minInkContrast: 24,
  /**
   * The page search (`estimateSkew`): where the lines cannot measure the page, the skew is the
   * sharpest whole-page profile of the frame's darkest pixels (this share of them: rules, headlines,
   * the blackest strokes), within ±pageSearchSpanDeg of the lines' reading. On a dense multi-column
   * newspaper the detector finds 2–300 lines depending on the turn and skew (its 4 px print shrinks
   * further on a rotated scan), so the lines' reading moves by up to 0.8° between copies of one
   * page; the whole page's darkest pixels read the same page alike at any skew (dev set: 0.02–0.03 of
   * the pixels read the newspapers to a relative p95 of ≤ 0.07°; 0.015 was unstable on one page).
   * All of the page's dark pixels would not do: on the 1853 Weekly Journal their sharpest profile
   * lines up neighbouring columns' baselines 0.6° away from its rules and central text.
   */
  darkestShare: 0.025,
  pageSearchSpanDeg: 2,
  /**
   * When the lines cannot measure the page: their skew confidence is under pageSearchConfidence and
   * they are few (under pageSearchMinLines measuring lines) or short (their median under
   * pageSearchShortLine of the frame along them: a multi-column page, or lines broken into
   * fragments). A curled book page read at 15° (confidence 0.5, 33 lines half the frame long) keeps
   * its lines' reading: its darkest pixels are the black surround of the photograph.
   */
  pageSearchConfidence: 0.55,
  pageSearchMinLines: 10,
  pageSearchShortLine: 1 / 3,
  /**
   * Lines that disagree on the skew fan out (`fanSkew`, a page photographed at a slant) when a
   * straight line of their position across the page explains their angles and spreads them over at
   * least this many degrees between the outermost lines (the thesis photo: 9°).
   */
  fanMinSpreadDeg: 2,

  // --- Page summary (summary.ts) ---
  /** Lines that measure the page's skew: at least this share of the longest line. */
  measuringLineShare: 0.25,
  /**
   * Lines that show the page's curl: at least this share of the longest, so that a column's share
   * of a line that did not chain across the gutter, or a short last line of a paragraph, does not
   * hide the bow of the whole lines.
   */
  curlLineShare: 0.6,
  /** Lines within this many degrees of the median line angle agree on the skew. */
  agreeDeg: 0.5,
  /** The skew confidence is scaled down below this many measuring lines. */
  fullConfidenceLines: 5,
};
