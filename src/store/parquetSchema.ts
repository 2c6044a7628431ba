import type { VolumeRecord } from '../types';

/** A parquetjs-lite column definition. */
export interface ParquetField {
  type: 'UTF8' | 'INT32' | 'INT64' | 'DOUBLE';
  optional?: boolean;
  compression: 'SNAPPY';
}

const text = (optional = false): ParquetField => ({ type: 'UTF8', optional, compression: 'SNAPPY' });
const int32 = (optional = false): ParquetField => ({ type: 'INT32', optional, compression: 'SNAPPY' });
const double = (optional = false): ParquetField => ({ type: 'DOUBLE', optional, compression: 'SNAPPY' });

/**
 * The Parquet columns of the published table, one per `VolumeRecord` field (the type checks that
 * none is missing). Strings are UTF8, `seq` INT64, counts and pixel sizes INT32, measurements
 * DOUBLE; a column is optional exactly where the field may be null. Snappy-compressed, so DuckDB,
 * pyarrow and Spark read it without casts.
 */
export const VOLUME_RECORD_COLUMNS: { [K in keyof VolumeRecord]-?: ParquetField } = {
  volume_id: text(),
  seq: { type: 'INT64', compression: 'SNAPPY' },
  key: text(),
  etag: text(),
  status: text(),
  error: text(true),
  error_kind: text(true),
  width: int32(true),
  height: int32(true),
  orientation_deg: int32(true),
  orientation_confidence: double(true),
  skew_deg: double(true),
  confidence: double(true),
  transform: text(),
  rejected_transform: text(true),
  residual_skew_deg: double(true),
  curvature_px: double(true),
  residual_curvature_px: double(true),
  text_lines: int32(true),
  text_coverage: double(true),
  passes: int32(),
  fetch_ms: double(),
  decode_ms: double(),
  infer_ms: double(),
  transform_ms: double(),
  total_ms: double(),
  applied_rotation_deg: double(true),
  image_width: int32(true),
  image_height: int32(true),
  dewarp_points: text(true),
  image_key: text(true),
};
