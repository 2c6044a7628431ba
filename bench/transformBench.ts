/**
 * Times the two rotation backends (and the TPS dewarp) on a synthetic A4 page at analysis scale
 * and at 300 dpi, and prints one JSON object. Run: `npx tsc -p . && node dist/bench/transformBench.js`.
 */
import sharp from 'sharp';
import { renderSyntheticPage } from '../src/synth/pages';
import { RgbImage } from '../src/transform/image';
import { RotateBackend, planRotation, rotateImage } from '../src/transform/rotate';
import { dewarpImage, planDewarp } from '../src/transform/tps';
import type { TextLine } from '../src/types';
import { runMain } from './fixture';

const SIZES: Array<[number, number]> = [[1086, 1536], [2480, 3508]];
const ANGLES = [3.5, 90];
const REPEATS = 5;

async function page(width: number, height: number): Promise<RgbImage> {
  const encoded = await renderSyntheticPage({ seed: 7, width, height, format: 'png' });
  const { data, info } = await sharp(encoded).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, pixels: new Uint8Array(data) };
}

/** Median milliseconds of `REPEATS` runs after one warm-up. */
async function time(run: () => Promise<unknown>): Promise<number> {
  await run();
  const samples: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const start = performance.now();
    await run();
    samples.push(performance.now() - start);
  }
  samples.sort((x, y) => x - y);
  return Math.round(samples[Math.floor(REPEATS / 2)] * 10) / 10;
}

/** Bowed lines across the page, as the detector would report them. */
function bowedLines(width: number, height: number, bowPx: number): TextLine[] {
  const lines: TextLine[] = [];
  for (let y = height * 0.1; y < height * 0.9; y += height / 30) {
    const points: Array<[number, number]> = [];
    for (let x = width * 0.1; x <= width * 0.9; x += width / 40) points.push([x, y + bowPx * Math.sin((Math.PI * x) / width)]);
    lines.push({ points, height: height / 80, angleDeg: 0, curvaturePx: bowPx });
  }
  return lines;
}

async function main(): Promise<void> {
  const results: Array<Record<string, unknown>> = [];
  for (const [width, height] of SIZES) {
    const image = await page(width, height);
    for (const angle of ANGLES) {
      const rotation = planRotation(width, height, angle);
      const row: Record<string, unknown> = { width, height, angleDeg: angle };
      for (const backend of ['sharp', 'opencv'] as RotateBackend[]) row[`${backend}Ms`] = await time(() => rotateImage(image, rotation, backend));
      results.push(row);
    }
    const dewarp = planDewarp(bowedLines(width, height, height / 100), width, height);
    results.push({ width, height, tpsControlPoints: dewarp.controlPoints, tpsMs: await time(() => dewarpImage(image, dewarp)) });
  }
  console.log(JSON.stringify({ repeats: REPEATS, statistic: 'median', results }, null, 1));
}

runMain(main);
