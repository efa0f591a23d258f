/**
 * Escalation: when a command has waited `after_seconds`, run the configured notifier with the
 * pending record as JSON on stdin (a script that posts to a chat webhook, pages someone, …).
 * No chat service is built in. The notifier runs without a shell, is killed after its timeout,
 * and can only inform: nothing it does or prints changes the decision.
 */
import { spawn } from 'node:child_process';
import type { CommandRecord } from '../model/events.js';
import type { AuditStore } from '../audit/store.js';
import type { ReviewDefinition } from '../policy/types.js';
import type { Clock } from './clock.js';

export async function escalate(
  record: CommandRecord,
  config: NonNullable<ReviewDefinition['escalation']>,
  deps: { store: AuditStore; clock: Clock; warn?: (message: string) => void },
): Promise<void> {
  let error: string | null = null;
  try {
    const [program, ...args] = config.command;
    const child = spawn(program!, args, { stdio: ['pipe', 'ignore', 'ignore'], detached: false });
    child.on('error', () => undefined);
    if (child.pid === undefined) {
      error = `cannot start ${program}`;
    } else {
      const kill = setTimeout(() => child.kill('SIGKILL'), (config.timeout_seconds ?? 10) * 1000);
      kill.unref();
      child.on('exit', () => clearTimeout(kill));
      child.stdin.on('error', () => undefined);
      child.stdin.end(`${JSON.stringify({ event: 'pending', waited_seconds: config.after_seconds, ...record })}\n`);
      child.unref();
    }
  } catch (err) {
    error = (err as Error).message;
  }
  if (error) deps.warn?.(`escalation: ${error}`);
  await deps.store.record({
    type: 'ESCALATED',
    command_id: record.command_id,
    at: deps.clock.wall().toISOString(),
    after_seconds: config.after_seconds,
    notifier: config.command,
    error,
  });
}
