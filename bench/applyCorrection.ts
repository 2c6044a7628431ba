/**
 * CPU seconds and peak RSS of `applyCorrection` on an A4 page at 300 dpi (2480×3508 JPEG): a
 * deskew, a quarter turn, and a deskew + dewarp, each in a fresh process (so the peak is that
 * case's), encoded as JPEG q90 and PNG. Prints one JSON object.
 * Run: `npm run build && node dist/bench/applyCorrection.js [--repeats N]`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { applyCorrection, type EncodeOptions } from '../src/correct/applyCorrection';
import { correctionColumns } from '../src/correct/columns';
import { renderSyntheticPage, type PageSpec } from '../src/synth/pages';
import { loadOpenCv } from '../src/transform/opencv';
import { planRotation } from '../src/transform/rotate';
import type { PageSummary, TextLine, TransformPlan } from '../src/types';
import { scriptFlags } from './args';
import { runMain } from './fixture';

declare function gc(): void;

const [A4_WIDTH, A4_HEIGHT] = [2480, 3508];
const ANALYSIS_MAX_SIDE = 992;
const MB = 1024 * 1024;

interface Case {
  name: string;
  page: PageSpec;
  plan: TransformPlan;
  /** Bow of the lines the model would report at analysis scale, px (0: straight). */
  bowPx: number;
  output: EncodeOptions;
}

const CASES: Case[] = [
  { name: 'deskew 3.5° → jpeg', page: { seed: 3, skewDeg: 3.5 }, plan: { kind: 'rotate', rotateDeg: 3.5, dewarp: false }, bowPx: 0, output: { format: 'jpeg' } },
  { name: 'turn 90° → jpeg', page: { seed: 4, rotate: 90 }, plan: { kind: 'rotate', rotateDeg: 90, dewarp: false }, bowPx: 0, output: { format: 'jpeg' } },
  { name: 'deskew 6.5° + dewarp → jpeg', page: { seed: 5, skewDeg: 6.5, curlPx: 40 }, plan: { kind: 'tps', rotateDeg: 6.5, dewarp: true }, bowPx: 6, output: { format: 'jpeg' } },
  { name: 'deskew 6.5° + dewarp → png', page: { seed: 5, skewDeg: 6.5, curlPx: 40 }, plan: { kind: 'tps', rotateDeg: 6.5, dewarp: true }, bowPx: 6, output: { format: 'png' } },
];

/** Lines across an analysis frame, bowed by `bowPx`, as the detector would report them. */
function lines(width: number, height: number, bowPx: number): TextLine[] {
  const out: TextLine[] = [];
  for (let y = height * 0.1; y < height * 0.9; y += height / 40) {
    const points: Array<[number, number]> = [];
    for (let x = width * 0.1; x <= width * 0.9; x += width / 20) points.push([x, y + bowPx * Math.sin((Math.PI * (x - width * 0.1)) / (width * 0.8))]);
    out.push({ points, height: 10, angleDeg: 0, curvaturePx: bowPx });
  }
  return out;
}

interface CaseFigure {
  case: string;
  outputSize: string;
  outputMb: number;
  /** Median over the repeats: user + system CPU of every thread (main, libvips). */
  cpuSeconds: number;
  wallSeconds: number;
  /** Before the first call, with sharp and OpenCV loaded. */
  baselineRssMb: number;
  /** Highest RSS sampled every 10 ms during the first call (a fresh process), and over all calls (garbage collected before each). */
  firstCallPeakRssMb: number;
  peakRssMb: number;
  vmHwmMb: number;
  /** After the calls and a collection: what stays (OpenCV's heap keeps the size it grew to; glibc keeps freed arenas). */
  afterRssMb: number;
}

const vmHwmMb = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? NaN) / 1024;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (v: number, digits = 2) => Math.round(v * 10 ** digits) / 10 ** digits;

/** One case in this process: the row from the plan (as the controller makes it), then `repeats` calls. */
async function child(c: Case, file: string, repeats: number): Promise<CaseFigure> {
  const original = readFileSync(file);
  const { width, height } = await sharp(original).metadata();
  const source = { width, height };
  const analysis = planRotation(width, height, 0, ANALYSIS_MAX_SIDE); // about the decoder's frame size
  const first = { width: analysis.width, height: analysis.height, lines: lines(analysis.width, analysis.height, c.bowPx) } as PageSummary;
  const corrected = planRotation(first.width, first.height, c.plan.rotateDeg, ANALYSIS_MAX_SIDE);
  const row = { ...source, ...correctionColumns(source, { plan: c.plan, first, corrected }) };
  await loadOpenCv();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
  const cpu: number[] = [];
  const wall: number[] = [];
  let bytes: Buffer = Buffer.alloc(0);
  let firstCallPeak = 0;
  for (let i = 0; i < repeats; i++) {
    bytes = Buffer.alloc(0);
    gc(); // the previous call's garbage is not this call's peak
    const [cpu0, wall0] = [process.cpuUsage(), performance.now()];
    bytes = await applyCorrection(original, row, c.output);
    const used = process.cpuUsage(cpu0);
    cpu.push((used.user + used.system) / 1e6);
    wall.push((performance.now() - wall0) / 1000);
    if (i === 0) firstCallPeak = Math.max(peak, process.memoryUsage().rss);
  }
  clearInterval(sampler);
  const peakRss = Math.max(peak, process.memoryUsage().rss);
  gc();
  const meta = await sharp(bytes).metadata();
  return {
    case: c.name,
    outputSize: `${meta.width}×${meta.height}`,
    outputMb: round(bytes.length / MB),
    cpuSeconds: round(median(cpu)),
    wallSeconds: round(median(wall)),
    baselineRssMb: Math.round(baseline / MB),
    firstCallPeakRssMb: Math.round(firstCallPeak / MB),
    peakRssMb: Math.round(peakRss / MB),
    vmHwmMb: Math.round(vmHwmMb()),
    afterRssMb: Math.round(process.memoryUsage().rss / MB),
  };
}

async function main(): Promise<void> {
  // The child protocol (this script re-run on one case by the parent): child <case JSON> <file> <repeats>.
  if (process.argv[2] === 'child') {
    const figure = await child(JSON.parse(process.argv[3]) as Case, process.argv[4], Number(process.argv[5]));
    console.log(JSON.stringify(figure));
    return;
  }
  const repeats = scriptFlags('applyCorrection', [{ name: 'repeats', kind: 'int', value: '<n>', help: 'calls of each case; the median CPU and wall time are reported (default 3)' }]).int('repeats') ?? 3;
  const dir = mkdtempSync(join(tmpdir(), 'rxvolume-bench-apply-'));
  try {
    const figures: CaseFigure[] = [];
    for (const c of CASES) {
      const file = join(dir, `${c.page.seed}-${c.page.rotate ?? 0}.jpg`);
      // Rendered at A4, then cut back to A4 (a skewed render comes out on a grown canvas).
      const rendered = sharp(await renderSyntheticPage({ ...c.page, width: A4_WIDTH, height: A4_HEIGHT, format: 'png' }));
      const { width = 0, height = 0 } = await rendered.metadata();
      const [w, h] = c.page.rotate === 90 ? [A4_HEIGHT, A4_WIDTH] : [A4_WIDTH, A4_HEIGHT];
      const a4 = rendered.extract({ left: Math.floor((width - w) / 2), top: Math.floor((height - h) / 2), width: w, height: h });
      writeFileSync(file, await a4.withMetadata({ density: 300 }).jpeg({ quality: 90 }).toBuffer());
      const out = execFileSync(process.execPath, ['--expose-gc', __filename, 'child', JSON.stringify(c), file, String(repeats)], { encoding: 'utf8' });
      figures.push(JSON.parse(out.trim().split('\n').pop() as string) as CaseFigure);
    }
    console.log(JSON.stringify({ page: `${A4_WIDTH}×${A4_HEIGHT} JPEG q90, 300 dpi`, repeats, cores: cpus().length, loadavg: loadavg().map((l) => round(l)), node: process.version, figures }, null, 2));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

runMain(main);
