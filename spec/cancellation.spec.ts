import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, watch } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { VolumeWorker, openLocation, resolveConfig } from '../src';
import { demoPages, writeDemoVolume } from '../src/demo';
import { BIN, cli } from './helpers/cli';

/** Every file under `dir`, relative to it. */
function filesUnder(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as Array<{ isFile(): boolean; parentPath: string; name: string }>)
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)));
}

/** Every folder under `dir` (empty ones included), relative to it. */
function foldersUnder(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as Array<{ isDirectory(): boolean; parentPath: string; name: string }>)
    .filter((e) => e.isDirectory())
    .map((e) => relative(dir, join(e.parentPath, e.name)));
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `node args...` to its end. */
function node(args: string[], onSpawn?: (pid: number) => void): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.once('error', reject);
    child.once('spawn', () => onSpawn?.(child.pid as number));
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

describe('cancelling a volume while the model runs (default model, real threads)', () => {
  let root: string;
  let input: string;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'rxvolume-cancel-'));
    input = join(root, 'vol');
    await writeDemoVolume(openLocation(input), demoPages(30));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('unsubscribing from run$() 10 times mid-inference on a shared engine: no crash, nothing published, the engine runs the next volume', async () => {
    const output = join(root, 'lib-out');
    const exit = await node([join(__dirname, 'fixtures', 'cancelVolume.js'), input, output, '10']);
    expect(exit.stderr).not.toMatch(/terminate called|Napi::Error|Aborted/);
    expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null });
    const report = JSON.parse(exit.stdout.trim().split('\n').pop() as string);
    expect(report.batchesDone).toHaveLength(10);
    expect(report.after).toEqual({ status: 'published', pages: 30 });
    // Only the volume that ran to its end left anything: its table and marker.
    expect(filesUnder(output).filter((f) => !f.startsWith('after/'))).toEqual([]);
    expect(foldersUnder(output).filter((d) => d !== 'after')).toEqual([]);
  });

  it('worker.run({ signal }): aborting rejects with the reason once the run has cleaned up (its own engine closed, nothing published; an output folder that was there stays, one the run made goes)', async () => {
    for (const made of [true, false]) {
      const output = join(root, `signal-out-${made}`);
      if (made) mkdirSync(output);
      const cfg = resolveConfig({ input, output, model: 'tiny', inferWorkers: 1, decodeWorkers: 1, transformWorkers: 1, analysisWorkers: 1 });
      const worker = new VolumeWorker(cfg, undefined, 'signalled');
      const abort = new AbortController();
      let pagesDone = 0;
      worker.pages$.subscribe(() => ++pagesDone === 3 && abort.abort(new Error('stop after 3 pages')));
      await expect(worker.run({ signal: abort.signal })).rejects.toThrow('stop after 3 pages');
      expect(pagesDone).toBeLessThan(30);
      expect(existsSync(output)).toBe(made);
      if (made) expect([filesUnder(output), foldersUnder(output)]).toEqual([[], []]);
    }
  });

  it('a VolumeWorker cancelled while its own engine starts closes that engine once it is up', async () => {
    const exit = await node([join(__dirname, 'fixtures', 'cancelWhileStarting.js'), input, join(root, 'starting-out')]);
    expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null });
    expect(JSON.parse(exit.stdout)).toEqual({ started: 1, closed: 1 });
  });

  // Each signal lands during inference: once the run has written its first row into staging (other
  // pages are then in the model), plus a random 0-4 s. The checks hold for any moment.
  for (const [t, signal] of (['SIGINT', 'SIGTERM', 'SIGINT', 'SIGTERM', 'SIGINT', 'SIGTERM'] as const).entries()) {
    it(`rxvolume run stopped by ${signal} (try ${t + 1}) exits 130 with nothing published and no staging left`, async () => {
      const output = join(root, `cli-out-${t}`);
      mkdirSync(output);
      const watcher = watch(output, { recursive: true });
      let timer: NodeJS.Timeout | undefined;
      const exit = await node([BIN, 'run', '--input', input, '--output', output, '--json'], (pid) => {
        let seen = false;
        const wrote = () => {
          if (seen) return;
          seen = true;
          watcher.close();
          timer = setTimeout(() => process.kill(pid, signal), Math.random() * 4000);
        };
        watcher.once('change', wrote);
        // Node's recursive watch walks new folders; one removed meanwhile is an ENOENT 'error': a write too.
        watcher.once('error', wrote);
      });
      watcher.close();
      clearTimeout(timer);
      expect(exit.stderr).not.toMatch(/terminate called|Napi::Error|Aborted/);
      expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 130, signal: null });
      expect(JSON.parse(exit.stdout.trim().split('\n').pop() as string)).toEqual({ error: 'interrupted, stopped cleanly', exitCode: 130 });
      expect(filesUnder(output)).toEqual([]);
      expect(foldersUnder(output)).toEqual([]);
    });
  }

  it('--device cuda where the CUDA provider cannot load exits 1 with its JSON error, every time', async () => {
    for (let t = 0; t < 5; t++) {
      const run = await cli(['run', '--input', input, '--output', join(root, 'cuda-out'), '--device', 'cuda', '--json']);
      expect(run.code).toBe(1);
      expect(JSON.parse(run.stdout.trim().split('\n').pop() as string)).toMatchObject({ exitCode: 1, error: expect.stringMatching(/README, section GPU/) });
      // The one-line reason only: not ONNX Runtime's own multi-line log per inference thread.
      expect(run.stderr).not.toContain('[E:onnxruntime');
    }
  });
});
