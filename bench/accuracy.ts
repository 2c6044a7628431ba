/**
 * `npm run accuracy -- [--set=devset|holdout] [--quick] [--tools] [--verbose] [--trace] [--json] [--pages=a,b] [--config=JSON] [--from=log]`
 *
 * Orientation and skew accuracy on a set of real scans: the dev set (spec/fixtures/devset, the
 * default, tuned against) or the held-out set (`--set=holdout`, spec/fixtures/holdout: other pages,
 * never tuned on; see each folder's README). Each upright original is turned (0/90/180/270°) and
 * skewed by known angles with sharp at run time, the variants go through the whole pipeline
 * (VolumeWorker on a local folder, default model, both passes), and a table per page kind is
 * printed:
 *
 * - upright→turned: upright variants (turn 0, any skew) whose published `orientation_deg` ≠ 0;
 * - turned right: turned variants whose published orientation is the turn;
 * - relative skew: `(d(A) − d(0)) − A` over the skewed variants, d(0) the same page unskewed and
 *   unturned (the page's own skew cancels), median and p95 of its magnitude;
 * - absolute skew: |d(0) − s| on the upright originals, s the second method's estimate in the
 *   set's pages.json (median, max; none where it is null);
 * - false corrections: upright, unskewed originals that were rotated by more than 0.3° away from s
 *   (or turned at all).
 *
 * It also prints how often a skewed variant read with skew confidence c is off by more than 0.3°
 * (the calibration behind the controller's minConfidence). `--tools` adds the same table for
 * Tesseract OSD (orientation) and ImageMagick `-deskew 40%` (skew) where those programs are
 * installed. `--quick` runs fewer angles, `--pages=a,b` only pages whose file names start so,
 * `--from=<log>` scores the per-variant lines of an earlier `--verbose` run again; `--trace` prints
 * each variant's orientation evidence, both passes (bench/orientationTrace.ts).
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { VolumeWorker, resolveConfig, type PageResult, type PipelineConfig } from '../src';
import { configJson, scriptFlags } from './args';
import { OrientationTracer } from './orientationTrace';

const run = promisify(execFile);

/** A set of real scans: the folder spec/fixtures/<set> (its pages.json and images, see its README). */
export type ScanSet = 'devset' | 'holdout';

export interface DevPage {
  file: string;
  kind: string;
  /** The page's own skew (degrees clockwise) by the second method (see the README), or null. */
  skewDeg: number | null;
  /** The set the page comes from (not in pages.json: the folder it was read from). */
  set: ScanSet;
}

export interface Variant {
  key: string;
  page: DevPage;
  /** Clockwise turn. */
  turn: 0 | 90 | 180 | 270;
  /** Clockwise skew added after the turn. */
  angle: number;
  /** Contrast squeezed to the dark, low-contrast look of an old scan (paper ≈ 124, ink ≈ 60). */
  dark: boolean;
}

/** The pages of a set of real scans (default: the dev set). */
export async function devPages(set: ScanSet = 'devset'): Promise<DevPage[]> {
  const dir = await scanSetDir(set);
  const pages = JSON.parse(await readFile(join(dir, 'pages.json'), 'utf8')) as Array<Omit<DevPage, 'set'>>;
  return pages.map((p) => ({ ...p, set }));
}

async function scanSetDir(set: ScanSet): Promise<string> {
  // Compiled to dist/bench: the fixtures stay in the source tree.
  for (const dir of [resolve(__dirname, '..', 'spec', 'fixtures', set), resolve(__dirname, '..', '..', 'spec', 'fixtures', set)]) {
    try {
      await readFile(join(dir, 'pages.json'));
      return dir;
    } catch {
      // next
    }
  }
  throw new Error(`spec/fixtures/${set}/pages.json not found`);
}

/** The variant's image: the original turned, then skewed (white fill), as JPEG. */
export async function renderVariant(v: Variant): Promise<Buffer> {
  const dir = await scanSetDir(v.page.set);
  let img = sharp(await readFile(join(dir, v.page.file))).rotate(v.turn);
  if (v.dark) img = sharp(await img.toBuffer()).linear(0.25, 60);
  const turned = await img.png().toBuffer();
  const skewed = v.angle === 0 ? sharp(turned) : sharp(turned).rotate(v.angle, { background: v.dark ? '#7c7c7c' : '#ffffff' });
  return skewed.jpeg({ quality: 90 }).toBuffer();
}

export interface VariantPlan {
  /** Skews of the unturned variants (0 must be among them). */
  angles: number[];
  /** Skews of each turned variant (90, 180, 270). */
  turnedAngles: number[];
  /** Pages (file names) that also get a dark, low-contrast copy, with the same angles (the dev set's; none of the held-out set's). */
  dark: string[];
}

export const FULL_PLAN: VariantPlan = { angles: [0, -15, -8, -3.3, -0.7, 0.6, 2.4, 7, 15], turnedAngles: [0, 2.3], dark: ['book_kant_1784.jpg', 'book_pembroke_1766.jpg'] };

export function variantsOf(pages: DevPage[], plan: VariantPlan): Variant[] {
  const out: Variant[] = [];
  for (const page of pages) {
    for (const dark of plan.dark.includes(page.file) ? [false, true] : [false]) {
      const kind = dark ? 'dark-low-contrast' : page.kind;
      const p = { ...page, kind };
      const stem = page.file.replace(/\.[a-z]+$/, '') + (dark ? '-dark' : '');
      for (const angle of plan.angles) out.push({ key: `${stem}__r0_a${angle}.jpg`, page: p, turn: 0, angle, dark });
      for (const turn of [90, 180, 270] as const)
        for (const angle of plan.turnedAngles) out.push({ key: `${stem}__r${turn}_a${angle}.jpg`, page: p, turn, angle, dark });
    }
  }
  return out;
}

/** What one method says about one variant. */
export interface Reading {
  orientationDeg: number | null;
  skewDeg: number | null;
  /** The rotation applied to the page (0 when none), rxvolume only. */
  appliedDeg?: number;
  orientationConfidence?: number | null;
  /** The skew's confidence (the row's `confidence`), rxvolume only. */
  skewConfidence?: number | null;
}

/** Runs the variants through the whole pipeline (one volume) and reads each row. */
export async function readWithRxvolume(variants: Variant[], overrides: Partial<PipelineConfig> = {}): Promise<{ readings: Map<string, Reading>; seconds: number }> {
  const tmp = await mkdtemp(join(tmpdir(), 'rxvolume-acc-'));
  try {
    const input = join(tmp, 'in');
    await mkdir(input);
    for (const v of variants) await writeFile(join(input, v.key), await renderVariant(v));
    const cfg = resolveConfig({ ...overrides, input, output: join(tmp, 'out') });
    const worker = new VolumeWorker(cfg, undefined, 'devset');
    const results = new Map<string, PageResult>();
    worker.pages$.subscribe((page) => results.set(page.record.key, page));
    const t0 = Date.now();
    await worker.run();
    const seconds = (Date.now() - t0) / 1000;
    const readings = new Map<string, Reading>();
    for (const [key, { record, applied }] of results) {
      readings.set(key, {
        orientationDeg: record.orientation_deg,
        skewDeg: record.skew_deg,
        appliedDeg: applied?.rotateDeg ?? 0,
        orientationConfidence: record.orientation_confidence,
        skewConfidence: record.confidence,
      });
    }
    return { readings, seconds };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function installed(program: string): Promise<boolean> {
  try {
    await run('sh', ['-c', `command -v ${program}`]);
    return true;
  } catch {
    return false;
  }
}

/**
 * Tesseract OSD's orientation (the clockwise turn of the page, from its "Rotate" line: the
 * clockwise rotation that makes the page upright is 360° − turn) and ImageMagick's deskew angle
 * (its sign flipped to clockwise-positive, see the README), per variant.
 */
export async function readWithTools(variants: Variant[]): Promise<{ tesseract?: Map<string, Reading>; imagemagick?: Map<string, Reading> }> {
  const hasTess = await installed('tesseract');
  const hasMagick = await installed('convert');
  const tmp = await mkdtemp(join(tmpdir(), 'rxvolume-acc-tools-'));
  const tess = new Map<string, Reading>();
  const magick = new Map<string, Reading>();
  try {
    let next = 0;
    const worker = async () => {
      while (next < variants.length) {
        const v = variants[next++];
        const file = join(tmp, v.key);
        await writeFile(file, await renderVariant(v));
        if (hasTess) {
          let orientationDeg: number | null = null;
          try {
            const { stdout } = await run('tesseract', [file, 'stdout', '--psm', '0'], { env: { ...process.env, OMP_THREAD_LIMIT: '1' } });
            const rotate = /Rotate:\s*(\d+)/.exec(stdout);
            if (rotate) orientationDeg = (360 - Number(rotate[1])) % 360;
          } catch {
            orientationDeg = null; // "Too few characters": no answer
          }
          tess.set(v.key, { orientationDeg, skewDeg: null });
        }
        if (hasMagick) {
          const { stdout } = await run('convert', [file, '-deskew', '40%', '-format', '%[deskew:angle]', 'info:']);
          magick.set(v.key, { orientationDeg: null, skewDeg: -Number(stdout.trim()) });
        }
      }
    };
    await Promise.all([worker(), worker()]);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return { tesseract: hasTess ? tess : undefined, imagemagick: hasMagick ? magick : undefined };
}

export interface KindRow {
  kind: string;
  pages: number;
  /** Upright variants read as turned / upright variants. */
  falseTurns: number;
  upright: number;
  /** Turned variants read right / turned variants. */
  turnedRight: number;
  turned: number;
  /** |(d(A) − d(0)) − A| over the skewed variants read in the right orientation. */
  relMedian: number | null;
  relP95: number | null;
  relMax: number | null;
  relCount: number;
  /** |d(0) − s| on the upright originals with a second-method skew. */
  absMedian: number | null;
  absMax: number | null;
  /** Upright unskewed originals rotated more than 0.3° from s, or turned. */
  falseCorrections: number;
}

function quantile(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

function median(sorted: number[]): number | null {
  if (sorted.length === 0) return null;
  const m = sorted.length >> 1;
  return sorted.length % 2 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
}

/** Signed difference of two angles, wrapped into (−180°, 180°]. */
function angleDiff(a: number, b: number): number {
  let d = (((a - b) % 360) + 360) % 360;
  if (d > 180) d -= 360;
  return d;
}

/** The error of one variant's relative skew reading, or undefined when it cannot be scored. */
export function relativeError(v: Variant, r: Reading | undefined, base: Reading | undefined): number | undefined {
  if (!r || !base || r.skewDeg === null || base.skewDeg === null) return undefined;
  return r.skewDeg - base.skewDeg - v.angle;
}

/**
 * The table per kind (plus "all"). `orientation` false: the method does not tell orientation (its
 * orientation columns are left out); `skew` false likewise.
 */
export function score(variants: Variant[], readings: Map<string, Reading>, what: { orientation: boolean; skew: boolean; corrections: boolean }): KindRow[] {
  const baseKey = (v: Variant) => variants.find((w) => w.page.file === v.page.file && w.dark === v.dark && w.turn === 0 && w.angle === 0)?.key;
  const kinds = [...new Set(variants.map((v) => v.page.kind)), 'all'];
  return kinds.map((kind) => {
    const vs = variants.filter((v) => kind === 'all' || v.page.kind === kind);
    const upright = vs.filter((v) => v.turn === 0);
    const turned = vs.filter((v) => v.turn !== 0);
    const rel: number[] = [];
    for (const v of vs) {
      if (v.angle === 0) continue;
      const r = readings.get(v.key);
      if (what.orientation && r?.orientationDeg !== v.turn) continue;
      const k = baseKey(v);
      const e = relativeError(v, r, k ? readings.get(k) : undefined);
      if (e !== undefined) rel.push(Math.abs(e));
    }
    rel.sort((a, b) => a - b);
    const abs: number[] = [];
    let falseCorrections = 0;
    for (const v of vs) {
      if (v.turn !== 0 || v.angle !== 0 || v.page.skewDeg === null) continue;
      const r = readings.get(v.key);
      if (r?.skewDeg !== null && r?.skewDeg !== undefined) abs.push(Math.abs(r.skewDeg - v.page.skewDeg));
      if (what.corrections && r?.appliedDeg !== undefined && r.appliedDeg !== 0 && Math.abs(angleDiff(r.appliedDeg, v.page.skewDeg)) > 0.3) falseCorrections++;
    }
    abs.sort((a, b) => a - b);
    return {
      kind,
      pages: new Set(vs.map((v) => v.page.file + (v.dark ? '-dark' : ''))).size,
      falseTurns: what.orientation ? upright.filter((v) => (readings.get(v.key)?.orientationDeg ?? 0) !== 0).length : 0,
      upright: what.orientation ? upright.length : 0,
      turnedRight: what.orientation ? turned.filter((v) => readings.get(v.key)?.orientationDeg === v.turn).length : 0,
      turned: what.orientation ? turned.length : 0,
      relMedian: median(rel),
      relP95: quantile(rel, 0.95),
      relMax: rel.length ? rel[rel.length - 1] : null,
      relCount: rel.length,
      absMedian: median(abs),
      absMax: abs.length ? abs[abs.length - 1] : null,
      falseCorrections,
    };
  });
}

/** Skew confidence calibration: per confidence band, the skewed variants and how many were off by more than 0.3°. */
export function calibration(variants: Variant[], readings: Map<string, Reading>): Array<{ band: string; pages: number; over03: number }> {
  const bands = [[0, 0.5], [0.5, 0.8], [0.8, 1.01]];
  const rows = bands.map(([lo, hi]) => ({ band: `${lo}–${Math.min(1, hi)}`, pages: 0, over03: 0 }));
  for (const v of variants) {
    if (v.angle === 0) continue;
    const r = readings.get(v.key);
    const base = readings.get(variants.find((w) => w.page.file === v.page.file && w.dark === v.dark && w.turn === 0 && w.angle === 0)?.key ?? '');
    const e = relativeError(v, r, base);
    if (e === undefined || r?.skewConfidence === null || r?.skewConfidence === undefined || r.orientationDeg !== v.turn) continue;
    const i = bands.findIndex(([lo, hi]) => r.skewConfidence! >= lo && r.skewConfidence! < hi);
    rows[i].pages++;
    if (Math.abs(e) > 0.3) rows[i].over03++;
  }
  return rows;
}

function formatCalibration(rows: Array<{ band: string; pages: number; over03: number }>): string {
  return ['skew confidence calibration (skewed variants): | confidence | variants | error > 0.3° |', ...rows.map((r) => `| ${r.band} | ${r.pages} | ${r.over03} |`)].join('\n');
}

const f3 = (x: number | null) => (x === null ? '–' : x.toFixed(3));

export function formatTable(method: string, rows: KindRow[], what: { orientation: boolean; skew: boolean; corrections: boolean }): string {
  const head = ['kind', 'pages', ...(what.orientation ? ['upright→turned', 'turned right'] : []), ...(what.skew ? ['rel |err| median', 'p95', 'max', 'abs |err| median', 'max'] : []), ...(what.corrections ? ['false corrections'] : [])];
  const lines = [`${method}`, `| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) {
    const cells = [
      r.kind,
      String(r.pages),
      ...(what.orientation ? [`${r.falseTurns}/${r.upright}`, `${r.turnedRight}/${r.turned}`] : []),
      ...(what.skew ? [f3(r.relMedian), f3(r.relP95), f3(r.relMax), f3(r.absMedian), f3(r.absMax)] : []),
      ...(what.corrections ? [String(r.falseCorrections)] : []),
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

/** The readings of an earlier `--verbose` run's per-variant lines (to score it again, e.g. with new truth). */
export function parseVerbose(text: string): Map<string, Reading> {
  const readings = new Map<string, Reading>();
  const num = (x: string) => (x === 'null' || x === 'undefined' || x === '–' ? null : Number(x));
  for (const m of text.matchAll(/^(\S+\.jpg)\torient (\S+) \(conf (\S+)\)\tskew (\S+)\tapplied (\S+)(?:\tskewconf (\S+))?$/gm))
    readings.set(m[1], { orientationDeg: num(m[2]), orientationConfidence: num(m[3]), skewDeg: num(m[4]), appliedDeg: num(m[5]) ?? undefined, skewConfidence: m[6] ? num(m[6]) : null });
  return readings;
}

async function main(): Promise<void> {
  const flags = scriptFlags('accuracy', [
    { name: 'set', kind: { choices: ['devset', 'holdout'] }, value: '<devset|holdout>', help: 'the set of real scans: spec/fixtures/devset (default, tuned against) or spec/fixtures/holdout (never tuned on)' },
    { name: 'quick', kind: 'bool', help: 'fewer variants: angles 0 and 2.4°, no turns' },
    { name: 'tools', kind: 'bool', help: 'also score Tesseract OSD and ImageMagick -deskew, where installed' },
    { name: 'verbose', kind: 'bool', help: "print every variant's reading (what --from reads back)" },
    { name: 'trace', kind: 'bool', help: "also print each variant's orientation evidence, both passes, re-run on one thread (bench/orientationTrace.ts; use with --pages)" },
    { name: 'json', kind: 'bool', help: 'print one JSON object last (the tables go to stderr)' },
    { name: 'pages', kind: 'string', value: '<a,b>', help: "only the set's pages whose file names start so" },
    { name: 'config', kind: 'string', value: '<json>', help: 'PipelineConfig fields over the defaults' },
    { name: 'from', kind: 'string', value: '<log>', help: 'score the per-variant lines of an earlier --verbose run again' },
  ]);
  const json = flags.bool('json');
  const tools = flags.bool('tools');
  const only = flags.string('pages')?.split(',');
  const log = json ? console.error : console.log;
  const set = (flags.string('set') ?? 'devset') as ScanSet;
  let pages = await devPages(set);
  if (only) pages = pages.filter((p) => only.some((o) => p.file.startsWith(o)));
  const plan = flags.bool('quick') ? { angles: [0, 2.4], turnedAngles: [0], dark: FULL_PLAN.dark } : FULL_PLAN;
  const variants = variantsOf(pages, plan);
  log(`[accuracy] ${set}: ${pages.length} pages, ${variants.length} variants through rxvolume`);
  const config = flags.string('config');
  const from = flags.string('from');
  const { readings, seconds } = from ? { readings: parseVerbose(await readFile(from, 'utf8')), seconds: NaN } : await readWithRxvolume(variants, config === undefined ? {} : configJson(config));
  const all = { orientation: true, skew: true, corrections: true };
  const rx = score(variants, readings, all);
  const out: Record<string, unknown> = { set, variants: variants.length, seconds, pagesPerSecond: variants.length / seconds, rxvolume: rx };
  log(formatTable(`rxvolume (${variants.length} variants, ${seconds.toFixed(1)} s, ${(variants.length / seconds).toFixed(2)} pages/s)`, rx, all));
  if (flags.bool('verbose'))
    for (const v of variants) {
      const r = readings.get(v.key);
      log(`${v.key}\torient ${r?.orientationDeg} (conf ${r?.orientationConfidence ?? '–'})\tskew ${r?.skewDeg?.toFixed(3)}\tapplied ${r?.appliedDeg?.toFixed(3)}\tskewconf ${r?.skewConfidence ?? '–'}`);
    }
  log(formatCalibration(calibration(variants, readings)));
  if (flags.bool('trace')) {
    const tracer = await OrientationTracer.open(config === undefined ? {} : configJson(config));
    try {
      for (const v of variants) {
        const r = readings.get(v.key);
        log(`${v.key} (truth ${v.turn}, published ${r?.orientationDeg} conf ${r?.orientationConfidence?.toFixed(2) ?? '–'})`);
        for (const line of await tracer.trace(await renderVariant(v))) log(line);
      }
    } finally {
      await tracer.close();
    }
  }
  if (tools) {
    const { tesseract, imagemagick } = await readWithTools(variants);
    if (tesseract) {
      const what = { orientation: true, skew: false, corrections: false };
      out.tesseractOsd = score(variants, tesseract, what);
      log(formatTable('Tesseract OSD (--psm 0)', out.tesseractOsd as KindRow[], what));
    } else log('Tesseract: not installed');
    if (imagemagick) {
      const what = { orientation: false, skew: true, corrections: false };
      out.imagemagick = score(variants, imagemagick, what);
      log(formatTable('ImageMagick -deskew 40%', out.imagemagick as KindRow[], what));
    } else log('ImageMagick: not installed');
  }
  if (json) console.log(JSON.stringify(out));
}

if (require.main === module)
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
