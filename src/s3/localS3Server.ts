import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { packageRoot } from '../workerFile';

export interface LocalS3Server {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  port: number;
  /** The server process (to account its CPU, for example). */
  pid: number;
  /** Where s3rver keeps the objects. */
  dir: string;
  /** Stops the server and removes `dir` when it was a temporary one. */
  stop(): Promise<void>;
}

export interface LocalS3ServerOptions {
  buckets: string[];
  /** Object directory; a fresh temporary one (removed by `stop`) when omitted. */
  dir?: string;
}

/** Start-up time limit for the child. */
const START_TIMEOUT_MS = 30_000;

/**
 * Starts s3rver (a local S3 emulator) in a child process on 127.0.0.1 with a free port and creates
 * `buckets`. Used by the tests and by the CLI demo; needs s3rver, an optional dependency. The child runs the compiled
 * `dist/src/s3/s3rverChild.js` (build first) under `node --openssl-legacy-provider`.
 */
export async function startLocalS3Server(opts: LocalS3ServerOptions): Promise<LocalS3Server> {
  const script = join(packageRoot, 'dist', 'src', 's3', 's3rverChild.js');
  if (!existsSync(script)) throw new Error(`s3rver child is not built: run \`npm run build\` (looked for ${script})`);
  if (!s3rverInstalled()) throw new Error('the local S3 server needs s3rver, an optional dependency of rxvolume that is not installed here: npm i s3rver');
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'rxvolume-s3-')));
  const child = spawn(process.execPath, ['--openssl-legacy-provider', script, JSON.stringify({ dir, buckets: opts.buckets })], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`s3rver did not start within ${START_TIMEOUT_MS} ms: ${stderr}`)), START_TIMEOUT_MS);
    const lines = createInterface({ input: child.stdout });
    lines.once('line', (line) => {
      clearTimeout(timer);
      lines.close();
      try {
        resolve((JSON.parse(line) as { port: number }).port);
      } catch {
        reject(new Error(`s3rver child printed an unexpected line: ${line}`));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`s3rver child exited with code ${code} before listening: ${stderr}`));
    });
  }).catch(async (err: unknown) => {
    child.kill();
    if (ownDir) await rm(dir, { recursive: true, force: true });
    throw err;
  });

  let stopping: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    pid: child.pid as number,
    dir,
    stop: () =>
      (stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        await exited;
        if (ownDir) await rm(dir, { recursive: true, force: true });
      })()),
  };
}

/** Whether s3rver (an optional dependency) can be loaded from here, where the child loads it. */
function s3rverInstalled(): boolean {
  try {
    require.resolve('s3rver');
    return true;
  } catch {
    return false;
  }
}

/** Client settings for s3rver; fits both `new S3Client(...)` and `new S3Context(...)`. */
export interface LocalS3ClientConfig {
  endpoint: string;
  region: string;
  forcePathStyle: true;
  credentials: { accessKeyId: string; secretAccessKey: string };
  requestChecksumCalculation: 'WHEN_REQUIRED';
  responseChecksumValidation: 'WHEN_REQUIRED';
}

/** S3 client settings for s3rver (or any path-style endpoint that wants no real credentials). */
export function s3ClientConfigFor(endpoint: string): LocalS3ClientConfig {
  const config: LocalS3ClientConfig = {
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
  return config satisfies S3ClientConfig;
}
