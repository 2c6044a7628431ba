import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * What the proxy does to one request instead of forwarding it cleanly:
 * - `slowdown`: answers 503 SlowDown without forwarding;
 * - `reset`: forwards, sends the status, headers and half of the body, then resets the socket;
 * - `stall`: forwards nothing and never answers (the client's timeout has to give up);
 * - `precondition`: answers 412 PreconditionFailed without forwarding (a conditional write that lost).
 */
export type Fault = 'slowdown' | 'reset' | 'stall' | 'precondition';

export interface FaultProxy {
  /** `http://127.0.0.1:<port>`: point the S3 client here. */
  endpoint: string;
  /** Makes the next `count` requests that match `match` (all when omitted) suffer `fault`. */
  inject(fault: Fault, count: number, match?: (req: IncomingMessage) => boolean): void;
  /** Requests seen, faults applied, and concurrency (requests between arrival and the end of their response). */
  readonly stats: { requests: number; injected: Record<Fault, number>; concurrent: number; peakConcurrent: number };
  /** `METHOD url` of every request, in arrival order. */
  readonly log: string[];
  /** Resolves when a request whose `METHOD url` matches `pattern` arrives (or has, at log index `from` or later). */
  seen(pattern: RegExp, from?: number): Promise<void>;
  /** Resolves when no request is in flight (a stalled one ends only when its client gives up). */
  idle(): Promise<void>;
  /** Faults still waiting for a matching request. */
  pendingFaults(): number;
  /** Drops the faults still waiting. */
  clearFaults(): void;
  /**
   * The endpoint goes away: open connections are cut and the port stops listening, so new ones are
   * refused (ECONNREFUSED), as when the S3 server restarts or the network drops. `up()` listens on
   * the same port again.
   */
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

interface Injection {
  fault: Fault;
  left: number;
  match?: (req: IncomingMessage) => boolean;
}

const SLOWDOWN_XML = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>';
const PRECONDITION_XML = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>';

/** A loopback HTTP proxy in front of `target` (an s3rver endpoint) that injects faults on demand. */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const injections: Injection[] = [];
  const sockets = new Set<Socket>();
  const upstreamAgent = new http.Agent({ keepAlive: true });
  const log: string[] = [];
  const watchers: Array<{ pattern: RegExp; resolve: () => void }> = [];
  let idleWaiters: Array<() => void> = [];
  const stats = { requests: 0, injected: { slowdown: 0, reset: 0, stall: 0, precondition: 0 }, concurrent: 0, peakConcurrent: 0 };

  const takeFault = (req: IncomingMessage): Fault | undefined => {
    const inj = injections.find((i) => i.left > 0 && (!i.match || i.match(req)));
    if (!inj) return undefined;
    inj.left--;
    stats.injected[inj.fault]++;
    return inj.fault;
  };

  const forward = (req: IncomingMessage, res: ServerResponse, resetMidBody: boolean) => {
    const out = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent: upstreamAgent },
      (up) => {
        if (!resetMidBody) {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        up.on('data', (c: Buffer) => chunks.push(c));
        up.on('end', () => {
          const body = Buffer.concat(chunks);
          res.writeHead(up.statusCode ?? 502, up.headers);
          res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.socket?.resetAndDestroy());
        });
      },
    );
    out.on('error', () => res.socket?.destroy());
    req.pipe(out);
  };

  const server = http.createServer((req, res) => {
    stats.requests++;
    const line = `${req.method} ${req.url}`;
    log.push(line);
    for (const w of watchers.filter((w) => w.pattern.test(line))) {
      watchers.splice(watchers.indexOf(w), 1);
      w.resolve();
    }
    stats.concurrent++;
    stats.peakConcurrent = Math.max(stats.peakConcurrent, stats.concurrent);
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      stats.concurrent--;
      if (stats.concurrent === 0) {
        for (const resolve of idleWaiters) resolve();
        idleWaiters = [];
      }
    };
    res.on('close', end);
    const fault = takeFault(req);
    if (fault === 'slowdown' || fault === 'precondition') {
      const [status, xml] = fault === 'slowdown' ? [503, SLOWDOWN_XML] : [412, PRECONDITION_XML];
      req.resume();
      req.on('end', () => res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml) }).end(xml));
    } else if (fault === 'stall') {
      req.resume();
    } else {
      forward(req, res, fault === 'reset');
    }
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    stats,
    log,
    inject: (fault, count, match) => void injections.push({ fault, left: count, match }),
    seen: (pattern, from = 0) =>
      log.slice(from).some((line) => pattern.test(line)) ? Promise.resolve() : new Promise<void>((resolve) => void watchers.push({ pattern, resolve })),
    idle: () => (stats.concurrent === 0 ? Promise.resolve() : new Promise<void>((resolve) => void idleWaiters.push(resolve))),
    pendingFaults: () => injections.reduce((n, i) => n + i.left, 0),
    clearFaults: () => void injections.splice(0),
    down: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
    up: () => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve)),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        upstreamAgent.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A request matcher: GETs of object keys (not listings). */
export function isObjectGet(req: IncomingMessage): boolean {
  return req.method === 'GET' && !/[?&]list-type=/.test(req.url ?? '');
}
