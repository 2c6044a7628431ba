import { createHash } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';

/**
 * Who wrote a temporary file or staged an attempt: `<12 hex>-<pid>`, the hex naming where the
 * process runs (this boot of this machine's kernel and its pid namespace — a container has its own
 * — on Linux; the host name elsewhere). It lets a later run tell a killed writer's leftovers from
 * those of a writer that still runs.
 */
export type OwnerToken = string;

/** The 12 hex of where this process runs (see `OwnerToken`). */
function whereHere(): string {
  const read = (fn: () => string) => {
    try {
      return fn().trim();
    } catch {
      return '';
    }
  };
  const boot = read(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8'));
  const pidNamespace = read(() => readlinkSync('/proc/self/ns/pid'));
  const where = boot && pidNamespace ? `${boot} ${pidNamespace}` : `host ${hostname()}`;
  return createHash('sha256').update(where).digest('hex').slice(0, 12);
}

const HERE = whereHere();

/** This process's token. */
export function ownToken(): OwnerToken {
  return `${HERE}-${process.pid}`;
}

/** The pattern of a token inside a name. */
export const OWNER_TOKEN = /[0-9a-f]{12}-\d+/;

/** Attempts this process has staged and not yet ended (published, or cleaned up after failing). */
const liveAttempts = new Set<string>();

/** Marks attempt `attemptId` of this process as running (`alive`) or ended. */
export function attemptRunning(attemptId: string, alive: boolean): void {
  if (alive) liveAttempts.add(attemptId);
  else liveAttempts.delete(attemptId);
}

/**
 * Whether attempt `attemptId`, staged by the process `token` names, is provably over: it is this
 * process's and no longer running here (its cleanup may have failed, e.g. during an outage), or its
 * process is provably gone (`provablyDead`).
 */
export function attemptOver(token: OwnerToken, attemptId: string): boolean {
  return token === ownToken() ? !liveAttempts.has(attemptId) : provablyDead(token);
}

/**
 * Whether the process `token` names is provably gone: it ran where this process runs (same boot,
 * same pid namespace) and no process has its pid now. A process elsewhere (another machine or
 * container) cannot be looked at, and a pid in use again may be the writer: both count as alive.
 */
export function provablyDead(token: OwnerToken): boolean {
  const m = /^([0-9a-f]{12})-(\d+)$/.exec(token);
  if (!m || m[1] !== HERE) return false;
  const pid = Number(m[2]);
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
