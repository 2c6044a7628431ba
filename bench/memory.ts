import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { MemoryFigure, MemoryJob } from './memoryChild';

/** Runs `memoryChild` in a fresh Node process and returns the figure it prints last. */
export function measureMemory(job: MemoryJob): Promise<MemoryFigure> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(__dirname, 'memoryChild.js'), JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
    child.once('error', reject);
    child.once('exit', (code) => {
      const last = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last.startsWith('{')) reject(new Error(`memory child for ${job.volumeId} exited with ${code}: ${stderr}`));
      else resolve(JSON.parse(last) as MemoryFigure);
    });
  });
}
