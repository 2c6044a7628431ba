import type { Command } from '../command';
import { demoCommand } from './demo';
import { enqueueCommand, statusCommand, workerCommand } from './fleet';
import { runCommand } from './run';

/** Every `rxvolume` command, in --help order. Adding one: import it and list it here. */
export const commands: readonly Command[] = [demoCommand, runCommand, enqueueCommand, workerCommand, statusCommand];
