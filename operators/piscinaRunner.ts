import { Observable } from 'rxjs';
import type { TaskRunner } from './poolMap';

/** Something a worker thread can take ownership of: an ArrayBuffer, a MessagePort, ... */
export type TransferItem = object;

export interface PiscinaRunnerOptions<T> {
  /** The worker's exported function to call (piscina's `name`). */
  name?: string;
  /**
   * The buffers to move to the worker instead of copying them (piscina's `transferList`:
   * ArrayBuffers, MessagePorts, ...; typed structurally so Node's types are not needed).
   */
  transfer?: (item: T) => TransferItem[];
  /**
   * When a thread frees, the waiting task of the highest priority among every runner of the pool
   * starts first (in arrival order among equals). Default 0.
   */
  priority?: number;
}

/**
 * What these helpers use of a piscina pool (`new Piscina(...)` fits it). Structural, so that
 * `rxvolume/operators` needs piscina neither installed nor type-checked unless you use a pool.
 */
export interface PiscinaPool {
  // transferList is `any`: piscina types it with Node's TransferListItem, which this package does not depend on.
  run(task: unknown, options: { name?: string; transferList?: any }): Promise<any>;
  readonly options: { readonly maxThreads: number; readonly concurrentTasksPerWorker: number };
}

/** A task waiting for a place in its pool. */
interface Waiting {
  priority: number;
  start(): void;
  fail(err: Error): void;
}

/** A pool's gate: its places, the tasks waiting for one, and who waits for the running ones to end. */
interface Gate {
  capacity: number;
  free: number;
  waiting: Set<Waiting>;
  idle: Array<() => void>;
  closed: boolean;
}

const gates = new WeakMap<PiscinaPool, Gate>();

function gateOf(pool: PiscinaPool): Gate {
  let gate = gates.get(pool);
  if (!gate) {
    const capacity = poolCapacity(pool);
    gate = { capacity, free: capacity, waiting: new Set(), idle: [], closed: false };
    gates.set(pool, gate);
  }
  return gate;
}

/** The waiting task to start next: the first of the highest priority. */
function nextWaiting(gate: Gate): Waiting | undefined {
  let next: Waiting | undefined;
  for (const waiting of gate.waiting) if (!next || waiting.priority > next.priority) next = waiting;
  return next;
}

/** A running task ended: its place goes to the next waiting task, or back to the pool. */
function release(gate: Gate): void {
  const next = nextWaiting(gate);
  if (next) {
    gate.waiting.delete(next);
    next.start();
  } else if (++gate.free === gate.capacity) gate.idle.splice(0).forEach((resolve) => resolve());
}

const closedError = (name: string | undefined) => new Error(`${name ?? 'task'}: the thread pool is closed`);

/**
 * A {@link TaskRunner} that runs items on a piscina pool, with their buffers transferred.
 *
 * A task is handed to the pool only when one of its threads is free (every runner of one pool
 * shares that gate), so piscina's own queue stays empty and cancelling is safe:
 * - unsubscribing from a task that waits for a thread drops it: it never reaches the pool;
 * - a task that runs is never interrupted: its thread finishes it, and its result is ignored.
 * Waiting tasks start in arrival order, those of a runner with a higher `priority` first (e.g. the
 * work that feeds a model before bulk work that only leaves the pipeline).
 *
 * Threads are never terminated mid-task: native code such as ONNX Runtime's `session.run` aborts
 * the whole process when its thread is ended under it. Close a pool with {@link drainPool}, then
 * `pool.destroy()`.
 *
 * On a pool of one thread, say, task a starts at once and task b waits for the thread; unsubscribing
 * from both while a runs lets a run to its end on its thread (its result is dropped), and b never
 * reaches the pool (the spec "on unsubscribe drops waiting tasks" shows it with a real pool). Its
 * timing is promise time, not marbles: marble-test a stage with a `cold()` runner instead.
 *
 * Workers should return results with `Piscina.move(...)` so they are transferred back.
 */
export function piscinaRunner<T, R>(pool: PiscinaPool, options: PiscinaRunnerOptions<T> = {}): TaskRunner<T, R> {
  const gate = gateOf(pool);
  return (item) =>
    new Observable<R>((subscriber) => {
      const waiting: Waiting = {
        priority: options.priority ?? 0,
        start: () =>
          void pool
            .run(item, { name: options.name, transferList: options.transfer?.(item) })
            .then(
              (result: R) => {
                subscriber.next(result);
                subscriber.complete();
              },
              (err: unknown) => subscriber.error(err),
            )
            .finally(() => release(gate)),
        fail: (err) => subscriber.error(err),
      };
      if (gate.closed) waiting.fail(closedError(options.name));
      else if (gate.free > 0) {
        gate.free--;
        waiting.start();
      } else gate.waiting.add(waiting);
      return () => gate.waiting.delete(waiting);
    });
}

/**
 * Stops handing tasks to `pool` and resolves once every task {@link piscinaRunner} started on it
 * has ended; tasks still waiting for a thread fail with "the thread pool is closed". Then the
 * pool's threads can be ended (`pool.destroy()`): none is inside a task. (Piscina's own `close()`
 * can resolve while tasks still run when several threads are busy.)
 */
export function drainPool(pool: PiscinaPool): Promise<void> {
  const gate = gateOf(pool);
  gate.closed = true;
  const waiting = [...gate.waiting];
  gate.waiting.clear();
  waiting.forEach((task) => task.fail(closedError(undefined)));
  return gate.free === gate.capacity ? Promise.resolve() : new Promise((resolve) => gate.idle.push(resolve));
}

/** The most tasks a piscina pool runs at once: threads × tasks per thread. */
export function poolCapacity(pool: PiscinaPool): number {
  return pool.options.maxThreads * pool.options.concurrentTasksPerWorker;
}
