/**
 * Top self-time functions of each .cpuprofile in a folder (main thread and worker threads):
 * `node dist/bench/topSelf.js [--dir prof] [--top N]`.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { scriptFlags } from './args';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Self time (ms) per function (name, file, line), largest first. */
function selfTimes(profile: Profile): Array<{ fn: string; ms: number }> {
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const totals = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const { callFrame: f } = byNode.get(id) as ProfileNode;
    const where = f.url ? `${f.url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'} ${where}`.trim();
    totals.set(key, (totals.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  return [...totals].map(([fn, ms]) => ({ fn, ms: Math.round(ms) })).sort((a, b) => b.ms - a.ms);
}

const flags = scriptFlags('topSelf', [
  { name: 'dir', kind: 'string', value: '<dir>', help: 'folder of .cpuprofile files (default .)' },
  { name: 'top', kind: 'int', value: '<n>', help: 'functions listed per profile (default 12)' },
]);
const dir = flags.string('dir') ?? '.';
const top = flags.int('top') ?? 12;
for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort()) {
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Profile;
  const wall = Math.round((profile.endTime - profile.startTime) / 1000);
  console.log(`\n${file} (${wall} ms)`);
  for (const { fn, ms } of selfTimes(profile).slice(0, top)) console.log(`  ${String(ms).padStart(7)} ms  ${fn}`);
}
