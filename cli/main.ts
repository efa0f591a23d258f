#!/usr/bin/env node
/** The bin entry: the only place that touches process.exitCode. */
import { main } from './cli.js';
import { processIo } from './io.js';

const controller = new AbortController();
const stop = (): void => {
  // a waiting check stops waiting; the command stays pending in the trail and must not run
  if (controller.signal.aborted) process.exit(1);
  controller.abort();
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

process.exitCode = await main(process.argv.slice(2), processIo(controller.signal));
