import { Observable, type OperatorFunction } from 'rxjs';
import type { VolumeRecord } from '../types';
import type { PublishInfo, PublishResult, S3ParquetWriter } from './parquetWriter';

export interface WriteParquetOptions {
  /** Called after each row is appended (the pipeline gives its budget credit back here). */
  afterRow?: (rec: VolumeRecord) => void;
  /** Maps an error of the writer itself (an append or the publish) before it is passed on. */
  writeError?: (err: unknown) => unknown;
}

/**
 * Appends each row to `writer` in arrival order, one at a time (rows that arrive meanwhile wait),
 * and publishes when the source completes, emitting the PublishResult. An error (from the source,
 * an append or the publish) aborts the writer before the error is passed on; unsubscribing before
 * the publish aborts it too.
 */
export function writeParquet(writer: S3ParquetWriter, info: () => PublishInfo, opts: WriteParquetOptions = {}): OperatorFunction<VolumeRecord, PublishResult> {
  return (source) =>
    new Observable<PublishResult>((subscriber) => {
      let chain: Promise<void> = Promise.resolve();
      let settled = false;
      const fail = (err: unknown) => {
        if (settled) return;
        settled = true;
        void writer.abort().catch(() => undefined).then(() => subscriber.error(err));
      };
      const writeFailed = (err: unknown): never => {
        throw opts.writeError ? opts.writeError(err) : err;
      };
      const then = (step: () => Promise<void>) => {
        chain = chain.then(() => (settled ? undefined : step())).catch(fail);
      };
      const upstream = source.subscribe({
        next: (rec) =>
          then(async () => {
            await writer.append(rec).catch(writeFailed);
            opts.afterRow?.(rec);
          }),
        error: fail,
        complete: () =>
          then(async () => {
            const result = await writer.publish(info()).catch(writeFailed);
            settled = true;
            subscriber.next(result);
            subscriber.complete();
          }),
      });
      return () => {
        upstream.unsubscribe();
        if (!settled) {
          settled = true;
          void writer.abort().catch(() => undefined);
        }
      };
    });
}
