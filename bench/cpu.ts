import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's utime and stime (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/** CPU seconds (user + system, all threads) of process `pid` so far; undefined where /proc is not readable. */
function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
  } catch {
    return undefined;
  }
}

/** CPU seconds this process (every thread: main, pools, ONNX) and the S3 server used over a span. */
export interface CpuSpan {
  self: number;
  /** The S3 server process; undefined where it cannot be read. */
  server?: number;
}

/** Starts measuring; the returned function gives the CPU used since. */
export function cpuMeter(serverPid?: number): () => CpuSpan {
  const self = process.cpuUsage();
  const server = serverPid === undefined ? undefined : processCpuSeconds(serverPid);
  return () => {
    const used = process.cpuUsage(self);
    const serverNow = serverPid === undefined ? undefined : processCpuSeconds(serverPid);
    return { self: (used.user + used.system) / 1e6, server: server === undefined || serverNow === undefined ? undefined : serverNow - server };
  };
}
