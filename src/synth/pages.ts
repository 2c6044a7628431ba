import sharp from 'sharp';

/**
 * A synthetic scanned page: text lines rendered upright, then curled, skewed and rotated the way a
 * real scan goes wrong. Everything varies deterministically with `seed`.
 *
 * Sign convention (the Parquet contract): `skewDeg` a (|a| < 45) is applied as
 * `sharp(upright).rotate(a, {background: 'white'})` and reads back as skew_deg ≈ +a; `rotate` r is
 * applied as `sharp(...).rotate(r)` and reads back as orientation_deg r.
 */
export interface PageSpec {
  seed: number;
  width?: number;
  height?: number;
  fontSize?: number;
  columns?: 1 | 2;
  skewDeg?: number;
  rotate?: 0 | 90 | 180 | 270;
  /** Largest vertical displacement of a text line by the page curl, in pixels (0 = flat). */
  curlPx?: number;
  jpegQuality?: number;
  format?: 'jpeg' | 'png';
}

const FONTS = ['DejaVu Serif', 'DejaVu Sans', 'DejaVu Sans Mono', 'DejaVu Serif Condensed'];
const WORDS = (
  'the of and to in is was that for on with as by at from this which be or are an have not it its ' +
  'volume page chapter history report council river harbour letter notice account method result ' +
  'between during against whereas therefore however measure figure table section article public'
).split(' ');

/** mulberry32: a small deterministic PRNG returning floats in [0, 1). */
function prng(seed: number): () => number {
  const imul = Math.imul;
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = imul(t ^ (t >>> 15), t | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** One text line of words that roughly fills `chars` characters. */
function sentence(rand: () => number, chars: number): string {
  const words: string[] = [];
  let length = 0;
  while (length < chars) {
    let w = WORDS[Math.floor(rand() * WORDS.length)];
    if (words.length === 0) w = w[0].toUpperCase() + w.slice(1);
    words.push(w);
    length += w.length + 1;
  }
  return words.join(' ');
}

/** The upright page as SVG: a margin, one or two columns of left-aligned lines, ragged last lines. */
function pageSvg(width: number, height: number, fontSize: number, columns: 1 | 2, rand: () => number): string {
  const font = FONTS[Math.floor(rand() * FONTS.length)];
  const margin = Math.round(width * (0.08 + rand() * 0.04));
  const gutter = Math.round(width * 0.05);
  const columnWidth = (width - 2 * margin - (columns - 1) * gutter) / columns;
  const leading = fontSize * (1.35 + rand() * 0.35);
  const charsPerLine = Math.floor(columnWidth / (fontSize * 0.6));
  const lines: string[] = [];
  for (let c = 0; c < columns; c++) {
    const x = margin + c * (columnWidth + gutter);
    for (let y = margin + fontSize; y < height - margin; y += leading) {
      // Paragraph breaks: a short line now and then, then a blank line.
      const ragged = rand() < 0.12;
      const text = sentence(rand, ragged ? Math.floor(charsPerLine * (0.3 + rand() * 0.4)) : charsPerLine - 4);
      lines.push(`<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" textLength="${ragged ? '' : columnWidth.toFixed(1)}" lengthAdjust="spacingAndGlyphs">${escapeXml(text)}</text>`.replace(' textLength=""', ''));
      if (ragged) y += leading;
    }
  }
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
    `<rect width="100%" height="100%" fill="white"/>` +
    `<g font-family="${font}" font-size="${fontSize}" fill="#111">${lines.join('')}</g></svg>`
  );
}

/**
 * Bends the text lines: column x moves down by curlPx·sin(πx/width) (a smooth bow, zero at the
 * edges), sampled with linear interpolation, with mild sensor noise added. RGB in, RGB out.
 */
function curlAndNoise(rgb: Uint8Array, width: number, height: number, curlPx: number, rand: () => number): Uint8Array {
  // Local aliases: global lookups in a hot loop are slow inside a vm context (Jest).
  const { floor, max, min, round } = Math;
  const out = new Uint8Array(rgb.length);
  for (let x = 0; x < width; x++) {
    const dy = curlPx * Math.sin((Math.PI * x) / width);
    for (let y = 0; y < height; y++) {
      const sy = y - dy;
      const y0 = floor(sy);
      const f = sy - y0;
      for (let c = 0; c < 3; c++) {
        const a = y0 >= 0 && y0 < height ? rgb[(y0 * width + x) * 3 + c] : 255;
        const b = y0 + 1 >= 0 && y0 + 1 < height ? rgb[((y0 + 1) * width + x) * 3 + c] : 255;
        const noise = (rand() - 0.5) * 12;
        out[(y * width + x) * 3 + c] = max(0, min(255, round(a * (1 - f) + b * f + noise)));
      }
    }
  }
  return out;
}

/** Renders a synthetic page (see {@link PageSpec}) to encoded JPEG or PNG bytes. */
export async function renderSyntheticPage(spec: PageSpec): Promise<Buffer> {
  const rand = prng(spec.seed);
  const width = spec.width ?? 1240;
  const height = spec.height ?? 1754;
  const fontSize = spec.fontSize ?? Math.round((width / 1240) * (20 + rand() * 10));
  const columns = spec.columns ?? (rand() < 0.3 ? 2 : 1);
  const svg = pageSvg(width, height, fontSize, columns, rand);
  const upright = await sharp(Buffer.from(svg)).flatten({ background: 'white' }).removeAlpha().raw().toBuffer();
  const curled = curlAndNoise(new Uint8Array(upright.buffer, upright.byteOffset, upright.length), width, height, spec.curlPx ?? 0, rand);
  // Each geometric step is its own pipeline so the order is exactly curl → skew → rotate.
  let page = sharp(curled, { raw: { width, height, channels: 3 } }).png({ compressionLevel: 1 });
  if (spec.skewDeg) page = sharp(await page.rotate(spec.skewDeg, { background: 'white' }).toBuffer()).png({ compressionLevel: 1 });
  if (spec.rotate) page = sharp(await page.rotate(spec.rotate).toBuffer()).png({ compressionLevel: 1 });
  return spec.format === 'png' ? page.png().toBuffer() : page.jpeg({ quality: spec.jpegQuality ?? 85 }).toBuffer();
}
