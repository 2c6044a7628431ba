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
 * process. Here a write's callback never carries an error: the first error is kept in `failed`,
 * which every parquet call races, and later writes are dropped. Each write still waits for the
 * staging stream's callback, so its backpressure holds.
 */
export class GuardedSink {
  readonly stream: Writable;
  readonly failed: Promise<never>;
  private error?: Error;

  constructor(target: Writable) {
    let fail: (err: Error) => void = () => undefined;
    this.failed = new Promise<never>((_, reject) => (fail = reject));
    this.failed.catch(() => undefined);
    const record = (err: Error) => {
      if (this.error) return;
      this.error = err;
      fail(err);
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
}
