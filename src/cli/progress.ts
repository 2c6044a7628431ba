import type { VolumeStatsSnapshot } from '../volumePipeline';

/** What the progress line shows at one moment. */
export interface ProgressState {
  done: number;
  /** Pages in the volume, when known. */
  total?: number;
  errors: number;
  elapsedMs: number;
  /** Items per lane of the batcher's weighted merge (initial / reprocess). */
  lanes?: Record<string, number>;
}

/** The merge stage's lane counts of a stats snapshot. */
export function mergeLanes(snapshot: VolumeStatsSnapshot): Record<string, number> | undefined {
  return snapshot.stages.find((s) => s.stage === 'merge')?.lanes;
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/** One line: `[####------] 12/24 pages  3.1 pages/s  ETA 4s  1 error  lanes initial 20 · reprocess 6`. */
export function progressLine(p: ProgressState, barWidth = 24): string {
  const rate = p.elapsedMs > 0 ? (p.done * 1000) / p.elapsedMs : 0;
  const parts: string[] = [];
  if (p.total !== undefined && p.total > 0) {
    const filled = Math.min(barWidth, Math.round((p.done / p.total) * barWidth));
    parts.push(`[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}] ${p.done}/${p.total} pages`);
  } else {
    parts.push(`${p.done} pages`);
  }
  parts.push(`${rate.toFixed(1)} pages/s`);
  if (p.total !== undefined) parts.push(`ETA ${rate > 0 ? duration((p.total - p.done) / rate) : '?'}`);
  parts.push(`${p.errors} error${p.errors === 1 ? '' : 's'}`);
  const lanes = Object.entries(p.lanes ?? {});
  if (lanes.length) parts.push(`lanes ${lanes.map(([name, n]) => `${name} ${n}`).join(' · ')}`);
  return parts.join('  ');
}

/** A progress line redrawn in place on a TTY stream. */
export class ProgressBar {
  private drawn = false;

  constructor(private readonly stream: NodeJS.WritableStream & { columns?: number }) {}

  update(p: ProgressState): void {
    const line = progressLine(p).slice(0, Math.max(20, (this.stream.columns || 120) - 1));
    this.stream.write(`\r\x1b[2K${line}`);
    this.drawn = true;
  }

  /** Clears the line (before the summary is printed). */
  clear(): void {
    if (this.drawn) this.stream.write('\r\x1b[2K');
    this.drawn = false;
  }
}
