/** Time as the gate reads it: wall clock for records, monotonic for durations, and sleeping. */
import { currentBootId } from './identity.js';

export interface Clock {
  /** Wall-clock time (may be replayed from `--now`). */
  wall(): Date;
  /**
   * Monotonic milliseconds, for durations. The system clock's readings are system-wide
   * (CLOCK_MONOTONIC), so two processes of one boot can measure between them.
   */
  monotonic(): number;
  /** The boot the monotonic readings belong to; null when they are only process-local. */
  bootId(): string | null;
  sleep(ms: number): Promise<void>;
}

const systemMonotonic = (): number => Number(process.hrtime.bigint() / 1000n) / 1000;

/** The system clock, optionally started at a replayed instant and advancing in real time. */
export function systemClock(start?: Date): Clock {
  const m0 = systemMonotonic();
  const w0 = start ? start.getTime() : null;
  return {
    wall: () => new Date(w0 === null ? Date.now() : w0 + Math.floor(systemMonotonic() - m0)),
    monotonic: systemMonotonic,
    bootId: currentBootId,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
}
