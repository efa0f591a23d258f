/**
 * The /v1 API. Agents submit and read their own commands; reviewers see the queue and decide;
 * auditors read the trail, verify it and report on it; admins do all of it. The shapes are the
 * engine's (CommandRecord, ReviewView, VerifyResult, ReportData): the server only translates.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DEFAULT_MAX_COMMAND_BYTES, VERSION, type CommandRecord, type StoredEvent } from '../../engine/index.js';
import { LEVELS, levelRank, type Level } from '../../engine/model/verdict.js';
import { ApiError, commandAnswer, openStream, requireRole, type AppOptions, type Principal } from './http.js';
import { readRecording } from '../recording.js';
import { decisionRoutes } from './decisions.js';
import { passkeyRoutes } from './passkeys.js';
import { runRoutes } from './runs.js';
import { SUBMIT_SCHEMA, submitBodyLimit, submitCommand, type SubmitBody } from './submit.js';
import { commandStats } from './stats.js';

const STATES = ['whitelisted', 'approved', 'pending', 'denied', 'timed_out'] as const;

/** May this principal see this command? Agents see only what they submitted themselves. */
function visible(p: Principal, record: CommandRecord): boolean {
  if (p.role !== 'agent') return true;
  const via = record.via;
  return via !== null && via.token_id === p.token_id && (p.token_id !== null || via.channel === 'socket');
}

const anyObject = { type: 'object', additionalProperties: true } as const;
const errorSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: { code: { type: 'string' }, message: { type: 'string' } },
      additionalProperties: true,
    },
  },
} as const;
const commandAnswerSchema = {
  type: 'object',
  properties: {
    record: anyObject,
    outcome: { type: 'string', enum: ['allowed', 'pending', 'denied', 'timed_out'] },
    exit_code: { type: 'integer' },
    why_not_whitelisted: { type: ['string', 'null'] },
    text: { type: 'string', description: "the CLI's rendering (when the submission asked for it)" },
  },
} as const;
const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 64 } },
} as const;
const errors = { 400: errorSchema, 401: errorSchema, 403: errorSchema, 404: errorSchema } as const;

export async function registerRoutes(app: FastifyInstance, options: AppOptions): Promise<void> {
  const { gate, hub } = options;
  const store = await gate.store();
  const maxCommandBytes = gate.policy.gate.limits?.max_command_bytes ?? DEFAULT_MAX_COMMAND_BYTES;

  app.get(
    '/v1/health',
    {
      config: { public: true },
      schema: { summary: 'Liveness', tags: ['service'], response: { 200: anyObject } },
    },
    async () => ({ status: 'ok', version: VERSION }),
  );

  app.get(
    '/v1/ready',
    { config: { public: true }, schema: { summary: 'Readiness: the store answers', tags: ['service'] } },
    async (_request, reply) => {
      try {
        await store.eventCount();
      } catch (err) {
        return reply.code(503).send({ ready: false, error: { code: 'store-unavailable', message: String(err) } });
      }
      return { ready: true, policy_revision: gate.policy.revision, store: gate.locations.store };
    },
  );

  app.get('/v1/whoami', { schema: { summary: 'Who the token is', tags: ['service'] } }, async (request) => {
    const p = request.principal!;
    const reviewer =
      p.role === 'reviewer' || p.role === 'admin'
        ? (gate.policy.source.reviewers.find((r) => r.id === p.identity) ?? null)
        : null;
    return {
      identity: p.identity,
      role: p.role,
      token_id: p.token_id,
      channel: p.channel,
      reviewer: reviewer ? { id: reviewer.id, name: reviewer.name } : null,
      passkeys: reviewer
        ? (await gate.review.passkeys(reviewer.id)).map((k) => ({
            credential_id: k.credential_id,
            registered_at: k.at,
          }))
        : [],
      token_decisions: gate.policy.gate.review?.token_decisions === true,
      rp: options.rp,
    };
  });

  app.post<{ Body: SubmitBody }>(
    '/v1/commands',
    {
      bodyLimit: submitBodyLimit(maxCommandBytes),
      schema: {
        summary: 'Submit a command (agents): recorded, then answered',
        description:
          'Recorded durably before the answer. Without `wait` a held command answers 201 with outcome "pending" ' +
          'at once (poll GET /v1/commands/{id}?wait=S or stream /v1/commands/{id}/events); with `wait` the ' +
          'answer comes when a reviewer decides or the command times out.',
        tags: ['agents'],
        body: SUBMIT_SCHEMA,
        response: { 201: commandAnswerSchema, ...errors, 413: errorSchema },
      },
    },
    async (request, reply) => {
      const abort = new AbortController();
      // the client went away while its submission waits: stop waiting (the command stays pending)
      const onClose = (): void => {
        if (!reply.raw.writableEnded) abort.abort();
      };
      reply.raw.once('close', onClose);
      try {
        const answer = await submitCommand(options, request.principal!, request.body, abort.signal);
        return await reply.code(201).send(answer);
      } finally {
        reply.raw.off('close', onClose);
      }
    },
  );

  app.get<{ Params: { id: string }; Querystring: { wait: number } }>(
    '/v1/commands/:id',
    {
      schema: {
        summary: "A command's record; long-polls with ?wait=S until it is decided",
        tags: ['agents'],
        params: idParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { wait: { type: 'integer', minimum: 0, maximum: 60, default: 0 } },
        },
        response: { 200: commandAnswerSchema, ...errors },
      },
    },
    async (request, reply) => {
      const record = await visibleCommand(request, request.params.id);
      if (record.decision !== 'pending' || request.query.wait === 0) return commandAnswer(record);
      const abort = new AbortController();
      const onClose = (): void => {
        if (!reply.raw.writableEnded) abort.abort();
      };
      reply.raw.once('close', onClose);
      try {
        const left = record.deadline ? Math.max(0, Date.parse(record.deadline) - Date.now()) : Infinity;
        await hub.next(record.command_id, Math.min(request.query.wait * 1000, left + 1000), abort.signal);
      } finally {
        reply.raw.off('close', onClose);
      }
      return commandAnswer((await store.command(record.command_id))!);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/commands/:id/events',
    {
      schema: {
        summary: 'Server-Sent Events: `decided` once the command is decided (or timed out), then the stream ends',
        tags: ['agents'],
        params: idParams,
      },
    },
    async (request, reply) => {
      const record = await visibleCommand(request, request.params.id);
      const stream = openStream(request, reply);
      let current = record;
      while (current.decision === 'pending' && !stream.closed) {
        const left = current.deadline ? Math.max(0, Date.parse(current.deadline) - Date.now()) : 3_600_000;
        await hub.next(current.command_id, Math.min(left + 1000, 30_000), stream.signal);
        current = (await store.command(current.command_id))!;
        if (current.decision === 'pending' && current.deadline && Date.parse(current.deadline) < Date.now()) {
          // nobody decided and its check is gone: record the timeout, as `status` would
          await gate.resume(current.command_id, { limitMs: 0 });
          current = (await store.command(current.command_id))!;
        }
      }
      stream.send('decided', commandAnswer(current));
      stream.end();
    },
  );

  app.get<{
    Querystring: {
      session?: string;
      decision?: (typeof STATES)[number];
      decided_by?: string;
      risk?: Level;
      from?: string;
      to?: string;
      q?: string;
      agent?: string;
      limit: number;
      before?: string;
    };
  }>(
    '/v1/commands',
    {
      schema: {
        summary: 'Audit query: recorded commands, newest first, filtered and paged',
        description: "Agents see only the commands they submitted. Page with `before` = the previous page's `next`.",
        tags: ['audit'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            session: { type: 'string' },
            decision: { type: 'string', enum: [...STATES] },
            decided_by: { type: 'string' },
            risk: { type: 'string', enum: [...LEVELS], description: 'this level or higher' },
            from: { type: 'string', description: 'ISO 8601 time: submitted at or after' },
            to: { type: 'string', description: 'ISO 8601 time: submitted before' },
            q: { type: 'string', description: 'a substring of the command' },
            agent: { type: 'string' },
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
            before: { type: 'string', description: 'a command id: only commands submitted before it' },
          },
        },
      },
    },
    async (request) => {
      const p = request.principal!;
      const q = request.query;
      for (const [name, value] of [
        ['from', q.from],
        ['to', q.to],
      ] as const)
        if (value !== undefined && Number.isNaN(Date.parse(value)))
          throw new ApiError(400, 'bad-request', `${name}: not a time (ISO 8601)`);
      const all = await store.commands({ session: q.session, decision: q.decision, since: q.from });
      const to = q.to === undefined ? Infinity : Date.parse(q.to);
      const matching = all.filter(
        (r) =>
          visible(p, r) &&
          (q.decided_by === undefined || r.decided_by === q.decided_by) &&
          (q.agent === undefined || r.agent === q.agent) &&
          (q.risk === undefined || levelRank(r.risk_level) >= levelRank(q.risk)) &&
          Date.parse(r.submitted_at) < to &&
          (q.q === undefined || r.command.includes(q.q)) &&
          (q.before === undefined || r.command_id < q.before),
      );
      matching.reverse();
      const items = matching.slice(0, q.limit);
      return { items, next: matching.length > q.limit ? items[items.length - 1]!.command_id : null };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/sessions/:id',
    {
      schema: {
        summary: "A session's timeline: its commands, oldest first, each with its events",
        tags: ['audit'],
        params: { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1 } } },
      },
    },
    async (request) => {
      const p = request.principal!;
      const records = (await store.commands({ session: request.params.id })).filter((r) => visible(p, r));
      if (records.length === 0)
        throw new ApiError(404, 'not-found', `no commands recorded for session ${request.params.id}`);
      const items = [];
      for (const record of records) {
        const events = (await store.commandEvents(record.command_id)).map(eventSummary);
        items.push({ record, events });
      }
      return { session_id: request.params.id, items };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/commands/:id/recording',
    {
      schema: {
        summary: "The command's run through exec, as an asciicast v2 recording (checked against the trail's SHA-256)",
        tags: ['audit'],
        params: idParams,
      },
    },
    async (request, reply) => {
      const record = await visibleCommand(request, request.params.id);
      const bytes = readRecording(record, gate.locations.state);
      return reply.type('application/x-asciicast').header('cache-control', 'no-store').send(bytes);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/commands/:id/review',
    {
      schema: {
        summary: 'A command as a reviewer sees it: its session so far, approvals, time left',
        tags: ['reviewers'],
        params: idParams,
      },
    },
    async (request) => {
      requireRole(request, 'reviewer', 'auditor');
      const view = await gate.review.view(request.params.id);
      if (!view) throw new ApiError(404, 'not-found', `no command ${request.params.id}`);
      return view;
    },
  );

  app.get(
    '/v1/queue',
    { schema: { summary: 'Pending commands, highest risk first, as a reviewer sees each', tags: ['reviewers'] } },
    async (request) => {
      requireRole(request, 'reviewer', 'auditor');
      return { items: await gate.review.queue() };
    },
  );

  app.get(
    '/v1/events',
    {
      schema: {
        summary: 'Server-Sent Events of the trail: submitted, reviewed, decided (with the command record)',
        tags: ['reviewers'],
      },
    },
    async (request, reply) => {
      requireRole(request, 'reviewer', 'auditor');
      const stream = openStream(request, reply);
      const types: Partial<Record<StoredEvent['type'], string>> = {
        SUBMITTED: 'submitted',
        DECIDED: 'decided',
        REVIEWED: 'reviewed',
        REVIEW_REFUSED: 'refused',
      };
      let chain = Promise.resolve();
      await hub.current();
      const stop = hub.listen((event) => {
        const name = types[event.type];
        if (!name || !event.command_id) return;
        const id = event.command_id;
        chain = chain.then(async () => {
          const record = await store.command(id).catch(() => null);
          if (record) stream.send(name, { command_id: id, seq: event.seq, record });
        });
      });
      stream.onClose(stop);
      await stream.done;
    },
  );

  decisionRoutes(app, options, { errors, idParams });
  passkeyRoutes(app, options);
  runRoutes(app, options, idParams);

  app.get(
    '/v1/verify',
    {
      schema: { summary: 'Verify the trail from its stored bytes (hashes, checkpoints, signatures)', tags: ['audit'] },
    },
    async (request) => {
      requireRole(request, 'auditor', 'reviewer');
      return gate.verify();
    },
  );

  app.get<{ Querystring: { from?: string; to?: string } }>(
    '/v1/report',
    {
      schema: {
        summary: "The compliance report's data over [from, to)",
        tags: ['audit'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { from: { type: 'string' }, to: { type: 'string' } },
        },
      },
    },
    async (request) => {
      requireRole(request, 'auditor');
      return gate.report({ from: request.query.from ?? null, to: request.query.to ?? null });
    },
  );

  app.get<{ Querystring: { bucket: 'hour' | 'day'; from?: string; to?: string } }>(
    '/v1/stats',
    {
      schema: {
        summary: 'Decisions and review latency over time, in buckets',
        tags: ['audit'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            bucket: { type: 'string', enum: ['hour', 'day'], default: 'hour' },
            from: { type: 'string' },
            to: { type: 'string' },
          },
        },
      },
    },
    async (request) => {
      requireRole(request, 'auditor', 'reviewer');
      const q = request.query;
      return commandStats(await store.commands({ since: q.from }), q.bucket, q.to);
    },
  );

  async function visibleCommand(request: FastifyRequest, id: string): Promise<CommandRecord> {
    const record = await store.command(id);
    // an agent asking for another's command learns nothing, not even that it exists
    if (!record || !visible(request.principal!, record)) throw new ApiError(404, 'not-found', `no command ${id}`);
    return record;
  }
}

function eventSummary(e: StoredEvent): { seq: number; type: string; at: string; leaf: string; body: unknown } {
  return { seq: e.seq, type: e.type, at: e.at, leaf: e.leaf, body: e.body };
}
