/**
 * Runs of allowed commands through a resident gate (`exec --server`, `policy-gate-shell` with
 * POLICY_GATE_SERVER): the command runs where the agent is; its start is recorded here before
 * it starts and its end after, exactly as `exec` records them in a store. The gate checks what
 * the store would: the command was allowed, has not run before (one run per decision), runs
 * the text that was checked, and the end matches the start. Only the agent that submitted a
 * command may record its run.
 */
import type { FastifyInstance } from 'fastify';
import { allowingDecision, SHELL_ARGV, type CommandRecord, type StoredEvent } from '../../engine/index.js';
import type { ExecEndBody, ExecStartBody } from '../../engine/model/events.js';
import { ApiError, type AppOptions, type Principal } from './http.js';

function owns(p: Principal, record: CommandRecord): boolean {
  if (p.role === 'admin') return true;
  return p.role === 'agent' && record.via !== null && record.via.token_id === p.token_id;
}

export function runRoutes(app: FastifyInstance, options: AppOptions, idParams: object): void {
  const { gate, hub } = options;

  app.get<{ Params: { id: string } }>(
    '/v1/commands/:id/trail',
    {
      schema: {
        summary: "A command's events in the trail, in order, with their leaf hashes",
        tags: ['audit'],
        params: idParams,
      },
    },
    async (request) => {
      const store = await gate.store();
      const record = await store.command(request.params.id);
      const p = request.principal!;
      if (!record || (p.role === 'agent' && !owns(p, record)))
        throw new ApiError(404, 'not-found', `no command ${request.params.id}`);
      return { items: (await store.commandEvents(record.command_id)).map(eventJson) };
    },
  );

  app.post<{ Params: { id: string }; Body: { event: ExecStartBody | ExecEndBody } }>(
    '/v1/commands/:id/runs',
    {
      schema: {
        summary: 'Record the start (before it runs) or the end of a run of an allowed command (agents)',
        tags: ['agents'],
        params: idParams,
        body: {
          type: 'object',
          required: ['event'],
          additionalProperties: false,
          properties: { event: { type: 'object', required: ['type', 'command_id'] } },
        },
      },
    },
    async (request, reply) => {
      const p = request.principal!;
      const store = await gate.store();
      const record = await store.command(request.params.id);
      if (!record || !owns(p, record)) throw new ApiError(404, 'not-found', `no command ${request.params.id}`);
      const event = request.body.event;
      if (event.command_id !== record.command_id)
        throw new ApiError(400, 'bad-request', 'the event is about another command');
      const events = await store.commandEvents(record.command_id);
      if (event.type === 'EXEC_START') {
        const decided = await allowingDecision(store, record).catch((err: Error) => {
          throw new ApiError(409, 'not-allowed', err.message);
        });
        const argv = [...SHELL_ARGV, record.command];
        if (
          !validStart(event) ||
          event.decided_leaf !== decided.leaf ||
          JSON.stringify(event.argv) !== JSON.stringify(argv)
        )
          throw new ApiError(
            400,
            'bad-request',
            'the start does not run the text that was checked, under its decision',
          );
        if (!(await store.record(event)))
          throw new ApiError(409, 'already-ran', `command ${record.command_id} already ran: a decision allows one run`);
      } else if (event.type === 'EXEC_END') {
        const start = events.find((e) => e.type === 'EXEC_START')?.body as ExecStartBody | undefined;
        if (!start) throw new ApiError(409, 'not-started', `command ${record.command_id} has no recorded start`);
        if (events.some((e) => e.type === 'EXEC_END'))
          throw new ApiError(409, 'already-ended', `command ${record.command_id} has already ended`);
        if (!validEnd(event) || event.started_at !== start.started_at)
          throw new ApiError(400, 'bad-request', 'the end does not match the recorded start');
        await store.record(event);
      } else {
        throw new ApiError(400, 'bad-request', 'the event must be EXEC_START or EXEC_END');
      }
      hub.poke();
      return reply.code(201).send({ recorded: event.type });
    },
  );
}

function eventJson(e: StoredEvent): { seq: number; type: string; at: string; leaf: string; body: unknown } {
  return { seq: e.seq, type: e.type, at: e.at, leaf: e.leaf, body: e.body };
}

const KEYS_START = ['argv', 'command_id', 'cwd', 'decided_leaf', 'env_removed', 'recording', 'started_at', 'type'];
const KEYS_END = [
  'command_id',
  'duration_ms',
  'ended_at',
  'exit_code',
  'recording',
  'recording_error',
  'signal',
  'started_at',
  'type',
];

function validStart(e: ExecStartBody): boolean {
  return (
    Object.keys(e).sort().join() === KEYS_START.join() &&
    typeof e.started_at === 'string' &&
    !Number.isNaN(Date.parse(e.started_at)) &&
    typeof e.cwd === 'string' &&
    typeof e.recording === 'string' &&
    Array.isArray(e.env_removed) &&
    e.env_removed.every((n) => typeof n === 'string')
  );
}

function validEnd(e: ExecEndBody): boolean {
  const r = e.recording as ExecEndBody['recording'] | null;
  return (
    Object.keys(e).sort().join() === KEYS_END.join() &&
    Number.isInteger(e.exit_code) &&
    Number.isInteger(e.duration_ms) &&
    e.duration_ms >= 0 &&
    typeof e.ended_at === 'string' &&
    !Number.isNaN(Date.parse(e.ended_at)) &&
    (e.signal === null || typeof e.signal === 'string') &&
    (e.recording_error === null || typeof e.recording_error === 'string') &&
    (r === null ||
      (typeof r === 'object' &&
        typeof r.path === 'string' &&
        /^[0-9a-f]{64}$/.test(r.sha256) &&
        Number.isInteger(r.bytes)))
  );
}
