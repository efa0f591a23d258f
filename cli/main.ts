#!/usr/bin/env node
/** The bin entry: the only place that touches process.exitCode. */
import { basename } from 'node:path';
import { main } from './cli.js';
import { ExitCode } from '../engine/util/exit-codes.js';
import { processIo } from './io.js';

const controller = new AbortController();
const stop = (): void => {
  // a waiting check stops waiting; the command stays pending in the trail and must not run
  if (controller.signal.aborted) process.exit(1);
  controller.abort();
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

// run through a link named policy-gate-shell (a tool's $SHELL), the bin is `policy-gate shell`
const SHELL_PROGRAM = 'policy-gate-shell';
const argv =
  basename(process.argv[1] ?? '') === SHELL_PROGRAM ? ['shell', ...process.argv.slice(2)] : process.argv.slice(2);

let cwdError: string | null = null;
try {
  process.cwd();
} catch (err) {
  cwdError = (err as Error).message;
}
if (cwdError !== null) {
  // a deleted working directory: nothing can be judged or found relative to it
  process.stderr.write(
    `policy-gate: error: the current directory no longer exists (${cwdError}): the command must not run\n`,
  );
  process.exitCode = argv[0] === 'exec' || argv[0] === 'shell' ? ExitCode.NotRun : ExitCode.Usage;
} else {
  process.exitCode = await main(argv, processIo(controller.signal));
  // a hook has answered: its agent waits for the process to end, and nothing left running (a
  // wait the watchdog cut short) may delay that
  if (argv[0] === 'hook') process.exit();
}
