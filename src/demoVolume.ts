import type { Location } from './store';
import { renderSyntheticPage, type PageSpec } from './synth/pages';

/** One page of a generated volume: how it was made, so results can be checked against it. */
export interface DemoPage {
  key: string;
  kind: 'straight' | 'skewed' | 'rotated' | 'curved' | 'corrupt';
  spec?: PageSpec;
}

/** The mix a demo volume cycles through: straight, skewed both ways, turned, curled, one corrupt. */
const MIX: Array<Omit<DemoPage, 'key'>> = [
  { kind: 'straight', spec: { seed: 0 } },
  { kind: 'skewed', spec: { seed: 0, skewDeg: 4 } },
  { kind: 'rotated', spec: { seed: 0, rotate: 90 } },
  { kind: 'skewed', spec: { seed: 0, skewDeg: -8 } },
  { kind: 'curved', spec: { seed: 0, curlPx: 14 } },
  { kind: 'rotated', spec: { seed: 0, rotate: 180 } },
  { kind: 'skewed', spec: { seed: 0, skewDeg: 12 } },
  { kind: 'corrupt' },
  { kind: 'straight', spec: { seed: 0, columns: 2 } },
  { kind: 'skewed', spec: { seed: 0, skewDeg: -2.5 } },
  { kind: 'rotated', spec: { seed: 0, rotate: 270 } },
  { kind: 'skewed', spec: { seed: 0, skewDeg: 6.5, curlPx: 6 } },
];

/**
 * The pages of an `n`-page demo volume (at most one corrupt file, as the 8th page when n ≥ 8, or
 * the last when n < 8 and n ≥ 4). Each page has its own seed, so text and fonts differ.
 */
export function demoPages(n: number): DemoPage[] {
  const pages: DemoPage[] = [];
  for (let i = 0; i < n; i++) {
    let entry = MIX[i % MIX.length];
    const corruptHere = n >= 8 ? i === 7 : n >= 4 && i === n - 1;
    if (entry.kind === 'corrupt' && !corruptHere) entry = MIX[0];
    if (corruptHere) entry = { kind: 'corrupt' };
    const key = `page-${String(i).padStart(4, '0')}.jpg`;
    pages.push(entry.spec ? { key, kind: entry.kind, spec: { ...entry.spec, seed: 1000 + i } } : { key, kind: entry.kind });
  }
  return pages;
}

/** A JPEG header followed by garbage: what a truncated or damaged upload looks like. */
export function corruptJpeg(): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]), Buffer.from('JFIF\0this file was damaged in transit'.repeat(8))]);
}

/** Renders the pages and writes them under `location`; returns what was written. */
export async function writeDemoVolume(location: Location, pages: DemoPage[]): Promise<DemoPage[]> {
  for (const page of pages) {
    const bytes = page.spec ? await renderSyntheticPage(page.spec) : corruptJpeg();
    const staged = await location.write(page.key);
    await new Promise<void>((resolve, reject) => staged.stream.write(bytes, (err) => (err ? reject(err) : resolve())));
    await staged.finish();
  }
  return pages;
}
