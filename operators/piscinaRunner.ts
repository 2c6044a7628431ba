import { Observable } from 'rxjs';
import type Piscina from 'piscina';
import type { TransferListItem } from 'node:worker_threads';
import type { TaskRunner } from './poolMap';

export interface PiscinaRunnerOptions<T> {
  /** The worker's exported function to call (piscina's `name`). */
  name?: string;
  /** The buffers to move to the worker instead of copying them. */
  transfer?: (item: T) => TransferListItem[];
}

/** Tasks a pool may still take without queueing, and the tasks waiting for one of them. */
interface Gate {
  free: number;
  waiting: Set<() => void>;
}

const gates = new WeakMap<Piscina, Gate>();

function gateOf(pool: Piscina): Gate {
  let gate = gates.get(pool);
  if (!gate) {
    gate = { free: poolCapacity(pool), waiting: new Set() };
    gates.set(pool, gate);
  }
  return gate;
}

function releaseSlot(gate: Gate): void {
  const [next] = gate.waiting;
  if (next) {
    gate.waiting.delete(next);
    next();
  } else gate.free++;
}

/**
 * A {@link TaskRunner} that runs items on a piscina pool, with their buffers transferred.
 *
 * A task is handed to the pool only when one of its threads is free (every runner of one pool
 * shares that gate), so piscina's own queue stays empty and cancelling is safe:
 * - unsubscribing from a task that waits for a thread drops it: it never reaches the pool;
 * - a task that runs is never interrupted: its thread finishes it, and its result is ignored.
 *
 * Threads are never terminated mid-task: native code such as ONNX Runtime's `session.run` aborts
 * the whole process when its thread is ended under it. Close pools with `pool.close()` (it waits
 * for running tasks), not `pool.destroy()`.
 *
 * ```
 * pool of 1 thread, each task takes 3 frames
 * tasks:      -a-b-----
 * running:    -[a-][b-]
 * unsubscribe at frame 2: a runs to its end (result dropped), b never starts
 * ```
 *
 * Workers should return results with `Piscina.move(...)` so they are transferred back.
 */
export function piscinaRunner<T, R>(pool: Piscina, options: PiscinaRunnerOptions<T> = {}): TaskRunner<T, R> {
  const gate = gateOf(pool);
  return (item) =>
    new Observable<R>((subscriber) => {
      const start = () => {
        pool
          .run(item, { name: options.name, transferList: options.transfer?.(item) })
          .then(
            (result: R) => {
              subscriber.next(result);
              subscriber.complete();
            },
            (err: unknown) => subscriber.error(err),
          )
          .finally(() => releaseSlot(gate));
      };
      if (gate.free > 0) {
        gate.free--;
        start();
      } else gate.waiting.add(start);
      return () => gate.waiting.delete(start);
    });
}

/** The most tasks a piscina pool runs at once: threads × tasks per thread. */
export function poolCapacity(pool: Piscina): number {
  return pool.options.maxThreads * pool.options.concurrentTasksPerWorker;
}
