import { join } from 'node:path';
import { packageRoot } from '../packageRoot';
import { UsageError, flagHelp, parseFlags } from './args';
import { EXIT, Interrupted, type CliIO, type Command } from './command';
import { commands } from './commands';

function version(): string {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  return (require(join(packageRoot, 'package.json')) as { version: string }).version;
}

/** The top-level --help. */
export function topHelp(list: readonly Command[] = commands): string {
  const width = Math.max(...list.map((c) => c.name.length));
  return [
    'rxvolume: scanned page images -> ONNX text detection -> deskew/dewarp -> published Parquet',
    '',
    'Usage: rxvolume <command> [flags]',
    '',
    'Commands:',
    ...list.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'rxvolume <command> --help (or -h, or rxvolume help <command>) shows the flags of a command.',
    'rxvolume --version prints the version.',
  ].join('\n');
}

/** A command's --help. */
export function commandHelp(command: Command): string {
  return [`Usage: ${command.usage}`, '', command.summary, '', 'Flags:', flagHelp(command.flags), ...(command.details ? ['', command.details] : [])].join('\n');
}

/** The first line of an error's message (no stack traces on the terminal). */
function oneLine(err: unknown): string {
  const message = err instanceof Error ? err.message || err.name : String(err);
  return message.split('\n')[0];
}

/** The unknown-command message. */
function unknownCommand(name: string): string {
  return `unknown command "${name}" (commands: ${commands.map((c) => c.name).join(', ')}; see rxvolume --help)`;
}

/**
 * Runs `rxvolume <argv>` and resolves to the exit code: 0 done, 1 failed, 2 bad arguments,
 * 130 interrupted. Errors are printed on one line on stderr; with `--json` the last stdout line is
 * then `{"error": "...", "exitCode": n}`. `rxvolume help <command>` is `rxvolume <command> --help`.
 * A command's code is loaded only when it runs: help, the version and bad arguments load no
 * sharp, onnxruntime or AWS SDK.
 */
export async function main(argv: readonly string[], io: CliIO): Promise<number> {
  if (argv[0] === 'help' && argv.length > 1) {
    const [, name, ...extra] = argv;
    const command = commands.find((c) => c.name === name);
    const problem = !command ? unknownCommand(name) : extra.length > 0 ? `unexpected argument "${extra[0]}" (usage: rxvolume help <command>)` : undefined;
    if (problem || !command) {
      io.stderr.write(`rxvolume help: ${problem}\n`);
      return EXIT.usage;
    }
    io.stdout.write(`${commandHelp(command)}\n`);
    return EXIT.ok;
  }
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.stderr : io.stdout).write(`${topHelp()}\n`);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === '--version') {
    io.stdout.write(`${version()}\n`);
    return EXIT.ok;
  }
  const json = rest.includes('--json');
  const fail = (code: number, message: string): number => {
    io.stderr.write(`rxvolume ${name}: ${message}\n`);
    if (json) io.stdout.write(`${JSON.stringify({ error: message, exitCode: code })}\n`);
    return code;
  };
  const command = commands.find((c) => c.name === name);
  if (!command) return fail(EXIT.usage, unknownCommand(name));
  try {
    const flags = parseFlags(rest, command.flags, command.name);
    if (flags.bool('help')) {
      io.stdout.write(`${commandHelp(command)}\n`);
      return EXIT.ok;
    }
    return await command.run(flags, io);
  } catch (err) {
    if (err instanceof UsageError) return fail(EXIT.usage, err.message);
    if (err instanceof Interrupted) return fail(EXIT.interrupted, 'interrupted, stopped cleanly');
    return fail(EXIT.failed, `failed: ${oneLine(err)}`);
  }
}

/** The process entry (bin/rxvolume.js): wires signals, runs `main` and exits with its code. */
export function runCli(argv: readonly string[] = process.argv.slice(2)): void {
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(EXIT.interrupted);
    process.stderr.write('\nrxvolume: stopping (press Ctrl-C again to quit at once) ...\n');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  main(argv, { stdout: process.stdout, stderr: process.stderr, signal: controller.signal }).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`rxvolume: ${oneLine(err)}\n`);
      process.exit(EXIT.failed);
    },
  );
}
