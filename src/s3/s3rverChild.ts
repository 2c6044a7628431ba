/**
 * Child-process entry of `startLocalS3Server`: runs s3rver on 127.0.0.1, with the conditional
 * writes it lacks (`conditionalWrites`) in front of its routes, and prints one JSON line
 * `{"port": N}` to stdout once it listens. Argument 1 is JSON `{dir, buckets}`.
 *
 * It runs in its own process (started with `--openssl-legacy-provider`, which s3rver's paginated
 * ListObjectsV2 needs) so its CPU work never stalls the caller's event loop.
 */
import { conditionalWrites, type ObjectStore } from './conditionalWrites';

// s3rver (a Koa application) ships no type declarations.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const S3rver = require('s3rver') as new (opts: object) => { run(): Promise<{ port: number }>; store: ObjectStore; middleware: unknown[] };

interface ChildArgs {
  dir: string;
  buckets: string[];
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as ChildArgs;
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: args.dir,
    configureBuckets: args.buckets.map((name) => ({ name })),
  });
  // After s3rver's logger, before its XML encoder and routes.
  server.middleware.splice(1, 0, conditionalWrites(server.store));
  const { port } = await server.run();
  process.stdout.write(`${JSON.stringify({ port })}\n`);
  // Stopping does not wait for open connections: a test server's requests may be left hanging.
  const stop = () => process.exit(0);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // The parent closing our stdin (or dying) ends the server too.
  process.stdin.on('end', stop);
  process.stdin.resume();
}

main().catch((err: unknown) => {
  process.stderr.write(`s3rver child failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
