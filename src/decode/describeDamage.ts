import { crc32 } from 'node:zlib';

/** What is wrong with an image file's structure: `truncated` when it stops before its end. */
export interface Damage {
  format: 'jpeg' | 'png' | 'webp';
  truncated: boolean;
  reason: string;
}

/**
 * Reads the structure of JPEG, PNG or WebP bytes that failed to decode and says what is wrong,
 * from the bytes alone: the same file always gets the same reason. libvips' own error text cannot
 * give that: its error buffer is one per process, so with decodes running on several threads a
 * failure's message may be empty ("Unknown error") or carry another file's warnings. Returns
 * undefined for other formats and where the structure is sound (the fault is inside the data).
 */
export function describeDamage(bytes: Uint8Array): Damage | undefined {
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return jpegDamage(bytes);
  if (ascii(bytes, 1, 3) === 'PNG' && bytes[0] === 0x89) return pngDamage(bytes);
  if (ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 4) === 'WEBP') return webpDamage(bytes);
  return undefined;
}

const ascii = (bytes: Uint8Array, at: number, length: number) => String.fromCharCode(...bytes.subarray(at, at + length));
const hex = (byte: number) => `0x${byte.toString(16).padStart(2, '0')}`;
const u16 = (bytes: Uint8Array, at: number) => (bytes[at] << 8) | bytes[at + 1];
const u32 = (bytes: Uint8Array, at: number) => ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;

/** Markers that stand alone (no length): restart markers, TEM, SOI. */
const standalone = (marker: number) => (marker >= 0xd0 && marker <= 0xd8) || marker === 0x01;
/** Start-of-frame markers (baseline, progressive, lossless…); not DHT (C4), JPG (C8) or DAC (CC). */
const startOfFrame = (marker: number) => marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;

/**
 * Walks a JPEG's marker segments up to its first scan, as a decoder does: bytes that are not a
 * marker where one is due, a segment running past the end, scan data before a frame header, and
 * scan data with no end-of-image marker after it (entropy-coded data never holds FF D9, so the last
 * one in the file ends the image; bytes appended after it are harmless).
 */
function jpegDamage(bytes: Uint8Array): Damage | undefined {
  const found: string[] = [];
  // Truncated when cutting short is all that is wrong; stray bytes as well make it corrupt.
  const damage = (truncated: boolean): Damage => ({ format: 'jpeg', truncated: truncated && found.length === 1, reason: found.join('; ') });
  let sawFrame = false;
  let at = 2;
  while (at < bytes.length) {
    if (bytes[at] !== 0xff) {
      const next = bytes.indexOf(0xff, at);
      found.push(`${(next < 0 ? bytes.length : next) - at} bytes that are not JPEG data at byte ${at} (found ${hex(bytes[at])} where a marker is due)`);
      if (next < 0) break;
      at = next;
      continue;
    }
    while (bytes[at + 1] === 0xff) at++; // fill bytes before a marker
    const marker = bytes[at + 1];
    if (marker === undefined) break;
    if (standalone(marker)) {
      at += 2;
      continue;
    }
    if (marker === 0xd9) {
      found.push(`the image ends at byte ${at} before any scan data`);
      return damage(false);
    }
    const length = u16(bytes, at + 2);
    if (at + 2 + length > bytes.length) {
      found.push(`segment ${hex(marker)} at byte ${at} declares ${length} bytes, past the end of the file (${bytes.length} bytes)`);
      return damage(true);
    }
    if (startOfFrame(marker)) sawFrame = true;
    if (marker === 0xda) {
      if (!sawFrame) found.push(`scan data at byte ${at} before any frame header (SOF)`);
      if (lastEndOfImage(bytes) < at) {
        found.push(`its scan data stops at byte ${bytes.length} with no end-of-image marker`);
        return damage(true);
      }
      return found.length ? damage(false) : undefined;
    }
    at += 2 + length;
  }
  found.push(`no scan data (${bytes.length} bytes)`);
  return damage(true);
}

function lastEndOfImage(bytes: Uint8Array): number {
  for (let at = bytes.length - 2; at >= 0; at--) if (bytes[at] === 0xff && bytes[at + 1] === 0xd9) return at;
  return -1;
}

/** Walks a PNG's chunks: each must fit in the file and pass its CRC, and IEND must come. */
function pngDamage(bytes: Uint8Array): Damage | undefined {
  const damage = (truncated: boolean, reason: string): Damage => ({ format: 'png', truncated, reason });
  let at = 8;
  while (at + 8 <= bytes.length) {
    const length = u32(bytes, at);
    const type = ascii(bytes, at + 4, 4);
    if (at + 12 + length > bytes.length) return damage(true, `chunk ${type} at byte ${at} declares ${length} bytes, past the end of the file (${bytes.length} bytes)`);
    if (crc32(bytes.subarray(at + 4, at + 8 + length)) !== u32(bytes, at + 8 + length)) return damage(false, `chunk ${type} at byte ${at} fails its CRC check`);
    if (type === 'IEND') return undefined;
    at += 12 + length;
  }
  return damage(true, `it stops at byte ${bytes.length} with no IEND chunk`);
}

/** A WebP file is one RIFF chunk whose header declares the file's length. */
function webpDamage(bytes: Uint8Array): Damage | undefined {
  const declared = 8 + ((bytes[4] | (bytes[5] << 8) | (bytes[6] << 16) | (bytes[7] << 24)) >>> 0);
  if (declared <= bytes.length) return undefined;
  return { format: 'webp', truncated: true, reason: `its RIFF header declares ${declared} bytes, the file has ${bytes.length}` };
}
