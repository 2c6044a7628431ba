import Piscina from 'piscina';
import { Observable, OperatorFunction, catchError, connect, filter, from, map, merge, of } from 'rxjs';
import { Credits, StageStats, piscinaRunner, poolCapacity, poolMap, releaseCredit, type TaskRunner } from '../../operators';
import type { EngineConfig } from '../config';
import type { PatchLayout } from '../decode/tile';
import { failed, type PageWork } from '../types';
import { closePool, startPool } from '../workerFile';
import type { DecodeResult, DecodeTask } from '../workers/decode';

/** Whether a view spans its whole ArrayBuffer, so transferring the buffer moves nothing else. */
const ownsBuffer = (view: Uint8Array) => view.byteOffset === 0 && view.byteLength === view.buffer.byteLength;

/**
 * Decodes fetched pages on a pool of `cfg.decodeWorkers` sharp threads into analysis-scale frames
 * with their model patches (see `decodeImage`). A page that cannot be decoded becomes an error item;
 * nothing else is affected.
 */
export class Decoder {
  private readonly pool: Piscina;

  constructor(private readonly cfg: EngineConfig, private readonly layout: PatchLayout) {
    this.pool = startPool('decode', { minThreads: 1, maxThreads: cfg.decodeWorkers });
  }

  /**
   * Sets `frame` and `timings.decodeMs` and drops `bytes`; error items pass through. Gives back one
   * `fetched` credit per item as it leaves.
   */
  decode(fetched: Credits, stats?: StageStats): OperatorFunction<PageWork, PageWork> {
    const run = piscinaRunner<DecodeTask, DecodeResult>(this.pool, {
      name: 'decode',
      // Only a buffer the bytes own is transferred; a view into a shared one (Node's pool) is copied.
      transfer: (task) => (ownsBuffer(task.bytes) ? [task.bytes.buffer as ArrayBuffer] : []),
    });
    return (source) =>
      source.pipe(
        map((work) => (work.error || work.bytes ? work : failed(work, 'no bytes were fetched for this page'))),
        connect((items) =>
          merge(
            items.pipe(filter((work) => !!work.error)),
            items.pipe(
              filter((work) => !work.error),
              poolMap((work: PageWork) => this.decodeOne(work, run), { concurrency: poolCapacity(this.pool), stats }),
            ),
          ),
        ),
        releaseCredit(fetched),
      );
  }

  async close(): Promise<void> {
    await closePool(this.pool);
  }

  private decodeOne(work: PageWork, run: TaskRunner<DecodeTask, DecodeResult>): Observable<PageWork> {
    const { bytes, ...rest } = work;
    const task: DecodeTask = { bytes: bytes as Uint8Array, analysisMaxSide: this.cfg.analysisMaxSide, maxInputPixels: this.cfg.maxInputPixels, layout: this.layout };
    return from(run(task)).pipe(
      map((result) => {
        const timings = { ...work.timings, decodeMs: work.timings.decodeMs + result.ms };
        return result.frame ? { ...rest, frame: result.frame, timings, ...(result.frame.note ? { note: result.frame.note } : {}) } : failed({ ...work, timings }, result.error);
      }),
      catchError((err: Error) => of(failed(work, `decode worker failed: ${err.message}`))),
    );
  }
}
