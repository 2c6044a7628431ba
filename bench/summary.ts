import type { StageSnapshot } from '../operators';
import type { VolumeStatsSnapshot } from '../src/volumePipeline';

/** The median of some numbers (the mean of the middle two for an even count). */
export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Rounds to `digits` decimals (for printing). */
export const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

/** One stage over a run: how long it had work in flight and how long items waited in it, ms and as a share of the run. */
export interface StageFigure {
  stage: string;
  processed: number;
  busyMs: number;
  backpressureMs: number;
  busyShare: number;
  backpressureShare: number;
}

/** The stages that do work on a pool or over the network; the others only route, count or wait. */
const WORK_STAGES = new Set(['prefetch', 'decode', 'infer', 'summarize', 'classify', 'transform']);

export function stageFigures(stats: VolumeStatsSnapshot, wallMs: number): StageFigure[] {
  return stats.stages.map((s: StageSnapshot) => ({
    stage: s.stage,
    processed: s.processed,
    busyMs: round(s.busyMs, 0),
    backpressureMs: round(s.backpressureMs, 0),
    busyShare: round(s.busyMs / wallMs),
    backpressureShare: round(s.backpressureMs / wallMs),
  }));
}

/**
 * The bottleneck: the work stage busy for the largest share of the run (ties: the one whose items
 * waited longest for it). A pool stage whose queue is rarely empty and whose busy share is near 1
 * is the one the rest of the pipeline waits on.
 */
export function bottleneck(stages: StageFigure[]): string {
  const work = stages.filter((s) => WORK_STAGES.has(s.stage));
  work.sort((a, b) => b.busyShare - a.busyShare || b.backpressureShare - a.backpressureShare);
  return work[0]?.stage ?? 'none';
}

/** Per-lane wait in the weighted merge (p50/p95 ms) and lane counts, from the `merge` stage. */
export interface LaneFigure {
  lane: string;
  frames: number;
  p50Ms: number;
  p95Ms: number;
}

export function laneFigures(stats: VolumeStatsSnapshot): LaneFigure[] {
  const merge = stats.stages.find((s) => s.stage === 'merge');
  return Object.entries(merge?.laneWaitMs ?? {}).map(([lane, w]) => ({ lane, frames: merge?.lanes?.[lane] ?? 0, p50Ms: round(w.p50, 1), p95Ms: round(w.p95, 1) }));
}

/** Medians, field by field, of several runs' figures of the same shape (keyed by `key`). */
export function medianBy<T extends object>(runs: T[][], key: keyof T): T[] {
  const first = runs[0] ?? [];
  return first.map((item) => {
    const same = runs.map((r) => r.find((x) => x[key] === item[key])).filter((x): x is T => !!x);
    const out = { ...item } as Record<string, unknown>;
    for (const [field, value] of Object.entries(item)) {
      if (typeof value === 'number') out[field] = round(median(same.map((x) => (x as Record<string, unknown>)[field] as number)), 2);
    }
    return out as T;
  });
}
