import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection, createServer } from 'node:net';

export interface RedisServer {
  /** `redis://127.0.0.1:<port>` */
  url: string;
  /** Stops the server when this helper started it (a no-op for an external one). */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 10_000;

/**
 * A Redis for a test: the one `REDIS_URL` names (CI starts one), otherwise `redis-server` started
 * here on a free port of 127.0.0.1 without persistence. Resolves once it answers PING.
 */
export async function startRedisServer(): Promise<RedisServer> {
  const external = process.env.REDIS_URL;
  if (external) {
    await waitForPong(new URL(external));
    return { url: external, stop: async () => undefined };
  }
  return startOwnRedisServer();
}

/** A `redis-server` of the test's own (never `REDIS_URL`'s), which the test may kill and start again. */
export interface OwnRedisServer extends RedisServer {
  port: number;
  /** Ends the server at once (SIGKILL: no shutdown save), like a crashed or unplugged Redis. */
  crash(): Promise<void>;
}

/**
 * Starts `redis-server` on 127.0.0.1: on `port` (default a free one) and, given `dir`, with an
 * append-only file fsynced on every write there, so that a server started again on the same port and
 * folder comes back with the data the last one acknowledged. Resolves once it answers PING.
 */
export async function startOwnRedisServer(opts: { port?: number; dir?: string } = {}): Promise<OwnRedisServer> {
  const port = opts.port ?? (await freePort());
  const persistence = opts.dir ? ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', opts.dir] : ['--appendonly', 'no'];
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (err) => reject(new Error(`redis-server could not be started (is it installed?): ${err.message}`)));
    child.once('exit', (code) => reject(new Error(`redis-server exited with code ${code} before answering PING`)));
  });
  const url = `redis://127.0.0.1:${port}`;
  try {
    await Promise.race([waitForPong(new URL(url)), failed]);
  } catch (err) {
    await kill(child, exited);
    throw err;
  }
  failed.catch(() => undefined);
  return { url, port, stop: () => kill(child, exited), crash: () => kill(child, exited, 'SIGKILL') };
}

async function kill(child: ChildProcess, exited: Promise<void>, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  await exited;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.once('error', reject);
  });
}

/** Sends PING until `+PONG` comes back (connection refused while the server starts). */
async function waitForPong(url: URL): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (await ping(url)) return;
    if (Date.now() > deadline) throw new Error(`no PONG from ${url.href} within ${START_TIMEOUT_MS} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function ping(url: URL): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: url.hostname, port: Number(url.port || 6379) });
    let reply = '';
    socket.setEncoding('utf8');
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: string) => {
      reply += chunk;
      if (reply.includes('\r\n')) {
        socket.destroy();
        resolve(reply.startsWith('+PONG'));
      }
    });
    socket.once('error', () => resolve(false));
  });
}
