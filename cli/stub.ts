/**
 * The bin entry, built as CommonJS (dist/bin/policy-gate.cjs) with nothing imported at the
 * top: a `check` that a resident gate can answer goes through the thin client (cli/thin.ts:
 * Node's fs and net, nothing else), in little more than Node's own start-up. Everything else —
 * and a check nobody serves — loads the full CLI (dist/bin/policy-gate.js).
 */
import { thinCheck, type ThinIo } from './thin.js';

function full(): void {
  // the ESM CLI next to this file; a variable keeps the bundler from inlining it
  const entry = `${__dirname}/policy-gate.js`;
  import(entry).catch((err: unknown) => {
    process.stderr.write(`policy-gate: cannot start: ${(err as Error).message}\n  the command must not run\n`);
    process.exitCode = 2;
  });
}

const args = process.argv.slice(2);
// run as policy-gate-shell, the arguments are bash's: only `policy-gate check` takes the thin path
const asShell = /(^|\/)policy-gate-shell$/.test(process.argv[1] ?? '');
if (asShell || args[0] !== 'check') full();
else {
  const fs = require('node:fs') as typeof import('node:fs');
  const controller = new AbortController();
  const stop = (): void => {
    if (controller.signal.aborted) process.exit(1);
    controller.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const tty = (fd: number): boolean => (require('node:tty') as typeof import('node:tty')).isatty(fd);
  const io: ThinIo = {
    cwd: process.cwd(),
    env: process.env,
    home: process.env.HOME || undefined,
    uid: process.getuid?.(),
    stdin: () => fs.readFileSync(0),
    stdinIsTty: () => tty(0),
    write: (fd, text) => {
      if (text !== '') fs.writeSync(fd, text);
    },
    isTty: tty,
    signal: controller.signal,
  };
  thinCheck(args.slice(1), io).then(
    (code) => {
      if (code === 'fallback') {
        process.removeListener('SIGINT', stop);
        process.removeListener('SIGTERM', stop);
        full();
      } else process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`policy-gate: error: ${(err as Error).message}\n  the command must not run\n`);
      process.exitCode = 2;
    },
  );
}
