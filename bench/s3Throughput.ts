/**
 * GET throughput against a local s3rver: objects/s and MB/s at concurrency 1, 8 and 32 through
 * S3Context (limits + retry loop included). Prints one JSON object.
 *
 *   npm run build && node dist/bench/s3Throughput.js [--objects N] [--kib K]
 */
import { randomBytes } from 'node:crypto';
import { from, lastValueFrom, mergeMap } from 'rxjs';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { S3Context } from '../src/s3/context';
import { s3ClientConfigFor, startLocalS3Server } from '../src/s3/localS3Server';
import { openLocation, type ObjectEntry } from '../src/store';
import { scriptFlags } from './args';
import { runMain } from './fixture';

async function main(): Promise<void> {
  const f = scriptFlags('s3Throughput', [
    { name: 'objects', kind: 'int', value: '<n>', help: 'objects put, then read at each concurrency (default 300)' },
    { name: 'kib', kind: 'int', value: '<k>', help: 'size of each object in KiB (default 200)' },
  ]);
  const objects = f.int('objects') ?? 300;
  const kib = f.int('kib') ?? 200;
  const server = await startLocalS3Server({ buckets: ['bench'] });
  const s3 = new S3Context({ ...s3ClientConfigFor(server.endpoint), maxInflightGlobal: 64 });
  try {
    const body = randomBytes(kib * 1024);
    const put = (i: number) => s3.client.send(new PutObjectCommand({ Bucket: 'bench', Key: `pages/p${String(i).padStart(5, '0')}.jpg`, Body: body }));
    await lastValueFrom(from(Array.from({ length: objects }, (_, i) => i)).pipe(mergeMap(put, 16)), { defaultValue: undefined });
    const input = openLocation('s3://bench/pages/', s3);
    const entries: ObjectEntry[] = [];
    for await (const page of input.list({ pageSize: 1000 })) entries.push(...page);

    const results = [];
    for (const concurrency of [1, 8, 32]) {
      const before = { ...s3.counters };
      const started = performance.now();
      let bytes = 0;
      const get = async (e: ObjectEntry) => {
        const got = await input.get(e.key, { etag: e.etag });
        bytes += got.bytes.length;
      };
      await lastValueFrom(from(entries).pipe(mergeMap(get, concurrency)), { defaultValue: undefined });
      const seconds = (performance.now() - started) / 1000;
      results.push({
        concurrency,
        objects: entries.length,
        seconds: round(seconds),
        objectsPerSec: round(entries.length / seconds),
        mbPerSec: round(bytes / 1e6 / seconds),
        retries: s3.counters.retries - before.retries,
      });
    }
    process.stdout.write(`${JSON.stringify({ bench: 's3Throughput', objectKiB: kib, node: process.version, results }, null, 2)}\n`);
  } finally {
    s3.destroy();
    await server.stop();
  }
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

runMain(main);
