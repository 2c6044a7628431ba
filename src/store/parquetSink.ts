import { Writable } from 'node:stream';
import { VOLUME_RECORD_COLUMNS } from './parquetSchema';

/** The parts of parquetjs-lite used here (it ships no types). */
interface ParquetLib {
  ParquetSchema: new (fields: object) => object;
  ParquetWriter: {
    openStream(schema: object, stream: Writable, opts: { rowGroupSize: number; useDataPageV2: boolean }): Promise<{
      appendRow(row: object): Promise<void>;
      close(): Promise<void>;
    }>;
  };
}
// eslint-disable-next-line @typescript-eslint/no-var-requires
const parquet = require('parquetjs-lite') as ParquetLib;
const schema = new parquet.ParquetSchema(VOLUME_RECORD_COLUMNS);

/** Appends rows of the volume table's schema to one Parquet stream; `close` writes the footer. */
export type RowWriter = Awaited<ReturnType<ParquetLib['ParquetWriter']['openStream']>>;

/** A Parquet writer of the volume table's schema onto `sink`, with row groups of `rowGroupSize` rows. */
export function openRowWriter(sink: GuardedSink, rowGroupSize: number): Promise<RowWriter> {
  return parquet.ParquetWriter.openStream(schema, sink.stream, { rowGroupSize, useDataPageV2: false });
}

/**
 * The stream parquetjs-lite writes to, in front of the staging stream. parquetjs-lite does not
 * await every write (`writeIndex` drops the promises of its sections), so an error of the staging
 * stream (ENOSPC, EROFS, a failed upload) escaped as an unhandled rejection and crashed the
 * process. Here a write's callback never carries an error: the first error is kept, every parquet
 * call goes through `guard`, which it rejects, and later writes are dropped. Each write still waits
 * for the staging stream's callback, so its backpressure holds.
 */
export class GuardedSink {
  readonly stream: Writable;
  private error?: Error;
  /** The rejects of the `guard` calls still running, for the first error. */
  private readonly running = new Set<(err: Error) => void>();

  constructor(target: Writable) {
    const record = (err: Error) => {
      if (this.error) return;
      this.error = err;
      for (const reject of this.running) reject(err);
      this.running.clear();
    };
    target.on('error', record);
    this.stream = new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        if (this.error) return callback();
        target.write(chunk, (err) => {
          if (err) record(err);
          callback();
        });
      },
    });
  }

  /**
   * `work`'s outcome, or the staging stream's first error when that comes first (at once if it
   * came already). Nothing of the call stays with the sink once `work` settles: racing one promise
   * of the sink's whole life (`Promise.race`) left a reaction on it per call, holding the call's
   * promise and outcome until the table was done — one per row, ≈ 0.3 KB a page.
   */
  guard<T>(work: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.error) reject(this.error);
      else this.running.add(reject);
      work.then(
        (value) => {
          this.running.delete(reject);
          resolve(value);
        },
        (err: unknown) => {
          this.running.delete(reject);
          reject(err);
        },
      );
    });
  }
}
