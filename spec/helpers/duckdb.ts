import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

export interface ParquetContents {
  /** Rows as plain JS values (BIGINT columns come back as bigint). */
  rows: Array<Record<string, unknown>>;
  /** Column name → DuckDB type as DuckDB reads it from the file (e.g. VARCHAR, BIGINT, DOUBLE). */
  types: Record<string, string>;
}

/** Reads a Parquet file (a path, or its bytes) with DuckDB, ordered by `seq` when it has one. */
export async function readParquet(source: string | Uint8Array): Promise<ParquetContents> {
  let dir: string | undefined;
  let path = typeof source === 'string' ? source : '';
  if (typeof source !== 'string') {
    dir = await mkdtemp(join(tmpdir(), 'rxvolume-duckdb-'));
    path = join(dir, 'table.parquet');
    await writeFile(path, source);
  }
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    const file = `'${path.replace(/'/g, "''")}'`;
    const described = await conn.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${file})`);
    const types: Record<string, string> = {};
    for (const row of described.getRowObjectsJS()) types[String(row.column_name)] = String(row.column_type);
    const order = 'seq' in types ? ' ORDER BY seq' : '';
    const reader = await conn.runAndReadAll(`SELECT * FROM read_parquet(${file})${order}`);
    return { rows: reader.getRowObjectsJS() as Array<Record<string, unknown>>, types };
  } finally {
    conn.closeSync();
    instance.closeSync();
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}
