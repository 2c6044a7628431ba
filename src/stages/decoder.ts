import Piscina from 'piscina';
import { Observable, OperatorFunction, catchError, from, map, of } from 'rxjs';
import { Credits, StageStats, bypass, piscinaRunner, poolCapacity, poolMap, releaseCredit, type TaskRunner } from '../../operators';
import type { EngineConfig } from '../config';
import type { DecodeOptions, DecodeOutcome } from '../decode/decodeImage';
import type { PatchLayout } from '../decode/tile';
import { failed, isFailed, type DecodedPage, type FailedPage, type FetchedPage } from '../page';
import { closePool, startPool } from '../workerFile';

/** A decode thread's task (src/threads/decode.ts) and its answer. */
export interface DecodeTask extends DecodeOptions {
  bytes: Uint8Array;
}

export type DecodeResult = DecodeOutcome & { ms: number };

/** Whether a view spans its whole ArrayBuffer, so transferring the buffer moves nothing else. */
const ownsBuffer = (view: Uint8Array) => view.byteOffset === 0 && view.byteLength === view.buffer.byteLength;

/**
 * Decodes fetched pages on a pool of `cfg.decodeWorkers` sharp threads into analysis-scale frames
 * with their model patches (see `decodeImage`). A page that cannot be decoded fails; nothing else
 * is affected.
 */
export class Decoder {
  private readonly pool: Piscina;

  constructor(private readonly cfg: EngineConfig, private readonly layout: PatchLayout) {
    this.pool = startPool('decode', { minThreads: 1, maxThreads: cfg.decodeWorkers });
  }

  /**
   * Fetched pages in, decoded pages out (`frame` and `timings.decodeMs` set, `bytes` dropped);
   * failed pages pass. Gives back one `fetched` credit per page as it leaves.
   */
  decode(fetched: Credits, stats?: StageStats): OperatorFunction<FetchedPage | FailedPage, DecodedPage | FailedPage> {
    const run = piscinaRunner<DecodeTask, DecodeResult>(this.pool, {
      name: 'decode',
      // Only a buffer the bytes own is transferred; a view into a shared one (Node's pool) is copied.
      transfer: (task) => (ownsBuffer(task.bytes) ? [task.bytes.buffer as ArrayBuffer] : []),
    });
    return (source) =>
      source.pipe(
        bypass(isFailed, poolMap((page: FetchedPage) => this.decodeOne(page, run), { concurrency: poolCapacity(this.pool), stats })),
        releaseCredit(fetched),
      );
  }

  async close(): Promise<void> {
    await closePool(this.pool);
  }

  private decodeOne(page: FetchedPage, run: TaskRunner<DecodeTask, DecodeResult>): Observable<DecodedPage | FailedPage> {
    const { bytes, ...rest } = page;
    const task: DecodeTask = { bytes, analysisMaxSide: this.cfg.analysisMaxSide, maxInputPixels: this.cfg.maxInputPixels, layout: this.layout };
    return from(run(task)).pipe(
      map((result) => {
        const timings = { ...page.timings, decodeMs: page.timings.decodeMs + result.ms };
        if (!result.frame) return failed({ ...page, timings }, result.error);
        return { ...rest, state: 'decoded' as const, frame: result.frame, timings, ...(result.frame.note ? { note: result.frame.note } : {}) };
      }),
      catchError((err: Error) => of(failed(page, `decode worker failed: ${err.message}`))),
    );
  }
}
