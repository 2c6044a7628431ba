import { Worker } from 'node:worker_threads';
import { join } from 'node:path';

/** The compiled package root's `dist/` (worker code requires the built modules from there). */
export const DIST = join(__dirname, '..', '..', 'dist');

/**
 * Runs `body` (the JavaScript body of an async function of `input`, with `require` and `DIST` in
 * scope) on a worker thread and resolves with what it returns. For code that must run in a plain
 * Node realm: onnxruntime-node refuses the typed arrays of Jest's sandbox.
 */
export function inWorker<T>(body: string, input: unknown): Promise<T> {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const DIST = ${JSON.stringify(DIST)};
    (async (input) => { ${body} })(workerData).then((r) => parentPort.postMessage({ ok: r }), (e) => parentPort.postMessage({ error: String(e && e.stack || e) }));`;
  return new Promise((resolve, reject) => {
    const worker = new Worker(code, { eval: true, workerData: input });
    worker.once('message', (m: { ok?: T; error?: string }) => {
      void worker.terminate();
      if (m.error !== undefined) reject(new Error(m.error));
      else resolve(m.ok as T);
    });
    worker.once('error', reject);
  });
}
