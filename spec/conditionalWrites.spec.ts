import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Context } from '../src/s3/context';
import { s3ClientConfigFor, startLocalS3Server, type LocalS3Server } from '../src/s3/localS3Server';
import { WriteConflictError, openLocation, type Location } from '../src/store';
import { ownToken } from '../src/store/owner';

/**
 * The marker's compare-and-swap (`putText` with `ifNoneMatch` / `ifMatch`), on a folder and on the
 * local S3 server (s3rver with the conditional writes it lacks): as on S3, of writers that read the
 * same state exactly one writes.
 */
const WRITERS = 8;

describe.each(['a folder', 'the local S3 server'] as const)('conditional writes on %s', (where) => {
  let tmp: string;
  let server: LocalS3Server | undefined;
  let s3: S3Context | undefined;
  let location: Location;

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'rxvolume-cas-'));
    if (where === 'the local S3 server') {
      server = await startLocalS3Server({ buckets: ['out'] });
      s3 = new S3Context(s3ClientConfigFor(server.endpoint));
    }
  });
  afterAll(async () => {
    s3?.destroy();
    await server?.stop();
    await rm(tmp, { recursive: true, force: true });
  });
  beforeEach(() => {
    const prefix = expect.getState().currentTestName?.replace(/\W+/g, '-') ?? 'x';
    location = openLocation(s3 ? `s3://out/${prefix}/` : join(tmp, prefix), s3);
  });

  /** Settles all writes; the indexes of those that wrote, after checking every other lost with a WriteConflictError. */
  async function winners(writes: Array<Promise<void>>): Promise<number[]> {
    const settled = await Promise.allSettled(writes);
    for (const s of settled) if (s.status === 'rejected') expect(s.reason).toBeInstanceOf(WriteConflictError);
    return settled.flatMap((s, i) => (s.status === 'fulfilled' ? [i] : []));
  }

  it(`If-None-Match: of ${WRITERS} writers at once where there is no object, one writes`, async () => {
    const won = await winners(Array.from({ length: WRITERS }, (_, i) => location.putText('m.json', `{"w":${i}}`, { ifNoneMatch: true })));
    expect(won).toHaveLength(1);
    expect((await location.readText('m.json'))?.text).toBe(`{"w":${won[0]}}`);
    await expect(location.putText('m.json', '{}', { ifNoneMatch: true })).rejects.toBeInstanceOf(WriteConflictError);
  });

  it(`If-Match: of ${WRITERS} writers at once that read one ETag, one writes; a stale or missing ETag loses`, async () => {
    await location.putText('m.json', '{"w":"first"}');
    const read = (await location.readText('m.json'))?.etag as string;
    const won = await winners(Array.from({ length: WRITERS }, (_, i) => location.putText('m.json', `{"w":${i}}`, { ifMatch: read })));
    expect(won).toHaveLength(1);
    const now = await location.readText('m.json');
    expect(now?.text).toBe(`{"w":${won[0]}}`);
    await expect(location.putText('m.json', '{}', { ifMatch: read })).rejects.toBeInstanceOf(WriteConflictError);
    await expect(location.putText('other.json', '{}', { ifMatch: now?.etag })).rejects.toBeInstanceOf(WriteConflictError);
    await location.putText('m.json', '{"w":"next"}', { ifMatch: now?.etag });
    expect((await location.readText('m.json'))?.text).toBe('{"w":"next"}');
  });

  if (where === 'a folder') {
    it('a lock left by a killed writer, or an old one from another machine, is removed; none stays after a write', async () => {
      const dir = join(tmp, 'locks');
      const folder = openLocation(dir);
      await folder.putText('m.json', '{}');
      const dead = spawnSync(process.execPath, ['-e', '']).pid as number;
      const cases = [
        { holder: ownToken().replace(/\d+$/, String(dead)), ageMs: 0 },
        { holder: `000000000000-${process.pid}`, ageMs: 60_000 },
      ];
      for (const { holder, ageMs } of cases) {
        await writeFile(join(dir, 'm.json.lock'), holder);
        const at = new Date(Date.now() - ageMs);
        await utimes(join(dir, 'm.json.lock'), at, at);
        const { etag } = (await folder.readText('m.json')) as { etag: string };
        await folder.putText('m.json', `{"after":"${holder}"}`, { ifMatch: etag });
        expect((await folder.readText('m.json'))?.text).toBe(`{"after":"${holder}"}`);
        expect(await readdir(dir)).toEqual(['m.json']);
      }
    });
  }
});
