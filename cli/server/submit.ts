/**
 * A submission, however it arrives (POST /v1/commands, or one JSON line on the Unix socket
 * from the thin client): checked by the gate, recorded before the answer, answered with the
 * record — and, for a thin client, the CLI's own rendering of it, so `check --server` prints
 * what an in-process `check` prints.
 */
import AjvModule from 'ajv';
import { DEFAULT_MAX_COMMAND_BYTES, whyNotWhitelisted, type CommandRecord } from '../../engine/index.js';
import { renderRecord } from '../render/record.js';
import type { Style } from '../render/style.js';
import { ApiError, commandAnswer, requireRole, type AppOptions, type Principal } from './http.js';

export interface SubmitBody {
  readonly command: string;
  readonly session_id?: string;
  readonly agent?: string;
  readonly intent?: string;
  readonly cwd?: string;
  readonly timeout_ms?: number;
  readonly wait?: boolean;
  readonly invalid_utf8?: boolean;
  readonly render?: 'text' | 'text-color';
}

export const SUBMIT_SCHEMA = {
  type: 'object',
  required: ['command'],
  additionalProperties: false,
  properties: {
    command: { type: 'string', minLength: 1 },
    session_id: { type: 'string', minLength: 1, maxLength: 256 },
    agent: { type: 'string', minLength: 1, maxLength: 128 },
    intent: { type: 'string', maxLength: 4096 },
    cwd: { type: 'string', minLength: 1, maxLength: 4096, description: 'absolute path the command runs in' },
    timeout_ms: { type: 'integer', minimum: 1000, maximum: 86_400_000 },
    wait: { type: 'boolean', default: false, description: 'answer only once decided (or timed out)' },
    invalid_utf8: {
      type: 'boolean',
      default: false,
      description: 'the input was not valid UTF-8 (replacement characters stand in): never whitelisted',
    },
    render: {
      type: 'string',
      enum: ['text', 'text-color'],
      description: "add `text`: the CLI's rendering of the answer (for thin clients)",
    },
  },
} as const;

/** A submission's body may carry the policy's largest command escaped as JSON (\u00XX at worst). */
export function submitBodyLimit(maxCommandBytes: number): number {
  return maxCommandBytes * 6 + 64 * 1024;
}

const Ajv = AjvModule.default;
const validate = new Ajv({ removeAdditional: false, coerceTypes: false, useDefaults: true }).compile(SUBMIT_SCHEMA);

/** Check a body against the submission schema (the socket's line protocol has no Fastify to do it). */
export function validSubmitBody(body: unknown): SubmitBody {
  if (!validate(body)) {
    const e = validate.errors?.[0];
    throw new ApiError(400, 'bad-request', `body${e?.instancePath ?? ''} ${e?.message ?? 'is not valid'}`);
  }
  return body as SubmitBody;
}

const plain: Style = { bold: (s) => s, dim: (s) => s, red: (s) => s, green: (s) => s, yellow: (s) => s };
const ansi = (code: string) => (s: string) => `\x1b[${code}m${s}\x1b[0m`;
const colour: Style = { bold: ansi('1'), dim: ansi('2'), red: ansi('31'), green: ansi('32'), yellow: ansi('33') };

export interface SubmitAnswer {
  readonly record: CommandRecord;
  readonly outcome: string;
  readonly exit_code: number;
  readonly text?: string;
}

/** Check one submission as `principal`; `onHeld` is told when it waits for a reviewer. */
export async function submitCommand(
  options: Pick<AppOptions, 'gate' | 'hub'>,
  p: Principal,
  body: SubmitBody,
  signal: AbortSignal,
  onHeld?: (record: CommandRecord, waitMs: number) => void,
): Promise<SubmitAnswer> {
  requireRole({ principal: p }, 'agent');
  const { gate, hub } = options;
  const max = gate.policy.gate.limits?.max_command_bytes ?? DEFAULT_MAX_COMMAND_BYTES;
  const bytes = Buffer.byteLength(body.command, 'utf8');
  if (bytes > max)
    throw new ApiError(
      413,
      'payload-too-large',
      `the command is ${bytes} bytes, over the policy's limit of ${max} (limits.max_command_bytes)`,
    );
  if (body.cwd !== undefined && !body.cwd.startsWith('/'))
    throw new ApiError(400, 'bad-request', 'body/cwd must be an absolute path');
  const { record, assessment } = await gate.check(
    {
      command: body.command,
      invalidUtf8: body.invalid_utf8 === true,
      session: body.session_id,
      agent: body.agent ?? (p.token_id !== null ? p.identity : undefined),
      intent: body.intent,
      cwd: body.cwd,
      timeoutMs: body.timeout_ms,
      wait: body.wait === true,
      via: { channel: p.channel, identity: p.identity, token_id: p.token_id },
      ...(onHeld ? { onHeld } : {}),
    },
    signal,
  );
  hub.poke();
  const answer = commandAnswer(record);
  if (!body.render) return answer;
  const style = body.render === 'text-color' ? colour : plain;
  return { ...answer, text: renderRecord(style, record, assessment, whyNotWhitelisted(assessment, gate.policy)) };
}
