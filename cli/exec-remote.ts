/**
 * `exec --server` and `policy-gate-shell` with POLICY_GATE_SERVER: the resident gate decides,
 * the command runs here, and its start and end are recorded through the server's API before
 * and after it runs (`POST /v1/commands/:id/runs`), as `exec` records them in a store. The
 * recording is written next to this machine's store; the trail keeps its path and SHA-256.
 * Anything that keeps the start from being recorded keeps the command from running (126).
 */
import {
  DEFAULT_MAX_COMMAND_BYTES,
  ExitCode,
  GateError,
  execute,
  systemClock,
  type CommandRecord,
  type RunRecorder,
  type StoredEvent,
} from '../engine/index.js';
import { str, type Parsed } from './args.js';
import { locations } from './context.js';
import type { CliIo } from './io.js';
import type { CommandInput } from './input.js';
import { remoteRequest, remoteSubmit } from './thin.js';

/** The run's events through the server's API. */
function recorder(server: string, token: string | undefined, cwd: string): RunRecorder {
  return {
    async commandEvents(commandId) {
      const r = await remoteRequest(server, token, 'GET', `/v1/commands/${commandId}/trail`, undefined, cwd);
      if (r.status !== 200) throw apiError(r, 'read the command from');
      return r.body.items as StoredEvent[];
    },
    async record(body) {
      const r = await remoteRequest(
        server,
        token,
        'POST',
        `/v1/commands/${body.command_id}/runs`,
        { event: body },
        cwd,
      );
      if (r.status === 409 && r.body?.error?.code === 'already-ran') return null;
      if (r.status !== 201) throw apiError(r, 'record the run on');
      return { type: body.type } as unknown as StoredEvent;
    },
  };
}

function apiError(r: { status: number; body: any }, what: string): GateError {
  const e = r.body?.error;
  return new GateError(
    'store-write-failed',
    `could not ${what} the gate server (${r.status} ${e?.code ?? ''}): ${e?.message ?? ''}`,
    {
      exitCode: ExitCode.NotRun,
    },
  );
}

/** Check through the server, then run the command here if it is allowed. */
export async function execThroughServer(
  server: string,
  p: Parsed,
  io: CliIo,
  readInput: (maxBytes: number) => Promise<CommandInput>,
  stdin: 'inherit' | 'ignore',
): Promise<number> {
  const token = str(p, 'token') ?? (io.env.POLICY_GATE_TOKEN || undefined);
  const input = await readInput(DEFAULT_MAX_COMMAND_BYTES);
  if (input.truncated) {
    io.stderr.write('policy-gate: not run (the input is over the size limit: exec runs only what it recorded whole)\n');
    return ExitCode.NotRun;
  }
  const timeout = str(p, 'timeout');
  const color = Boolean(io.stderr.isTTY) && io.env.NO_COLOR === undefined && io.env.TERM !== 'dumb';
  const answer = (await remoteSubmit(
    server,
    token,
    {
      command: input.text,
      ...(input.invalidUtf8 ? { invalid_utf8: true } : {}),
      ...(str(p, 'session') ? { session_id: str(p, 'session') } : {}),
      ...(str(p, 'agent') ? { agent: str(p, 'agent') } : {}),
      ...(str(p, 'intent') ? { intent: str(p, 'intent') } : {}),
      cwd: io.cwd,
      wait: true,
      ...(timeout !== undefined ? { timeout_ms: Math.max(1000, Math.round(Number(timeout) * 1000)) } : {}),
      render: color ? 'text-color' : 'text',
    },
    io.cwd,
    io.signal,
  ).catch((err: Error) => {
    throw new GateError('store-unavailable', err.message, {
      exitCode: ExitCode.NotRun,
      hint: 'the command did not run',
    });
  })) as { record: CommandRecord; exit_code: number; text?: string };
  const record = answer.record;
  if (answer.exit_code !== ExitCode.Allowed) {
    io.stderr.write(answer.text ?? '');
    io.stderr.write(`policy-gate: not run (${record.decision})\n`);
    return ExitCode.NotRun;
  }
  const { exitCode, end, endNotRecorded } = await execute(record, {
    store: recorder(server, token, io.cwd),
    clock: systemClock(),
    storeDir: locations(p, io).state,
    cwd: record.cwd ?? io.cwd,
    env: io.env,
    stdin,
    output: (stream, chunk) => (stream === 'stdout' ? io.stdout : io.stderr).write(chunk),
    terminal: { cols: Number(io.env.COLUMNS) || 80, rows: Number(io.env.LINES) || 24 },
    ...(io.signal ? { signal: io.signal } : {}),
  });
  if (end.recording_error) io.stderr.write(`policy-gate: ${end.recording_error}\n`);
  if (endNotRecorded)
    io.stderr.write(
      `policy-gate: the command ran (exit ${exitCode}) but its end could not be recorded: ${endNotRecorded}\n`,
    );
  return exitCode;
}
