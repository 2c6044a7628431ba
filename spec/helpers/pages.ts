import type { PageWork } from '../../src/page';

type Keys = PageWork extends infer P ? (P extends unknown ? keyof P : never) : never;
type ValueOf<P, K extends PropertyKey> = P extends unknown ? (K extends keyof P ? P[K] : never) : never;
type Common = 'task' | 'pass' | 'enteredAt' | 'timings';

/** A page of any state: the fields every state has, and every other state's fields as optional (for specs that check what a page carries). */
export type AnyPage = Pick<PageWork, Common> & { [K in Exclude<Keys, Common>]?: ValueOf<PageWork, K> };
