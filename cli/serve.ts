import { ExitCode, usageError } from '../engine/index.js';
import { COMMON_OPTIONS, bool, str, type Parsed } from './args.js';
import { defineCommand } from './command.js';
import { locations } from './context.js';
import type { CliIo } from './io.js';

const HELP = `Usage: policy-gate serve [options]
       policy-gate serve token create --name NAME --role ROLE [--note TEXT]
       policy-gate serve token list [--json]
       policy-gate serve token revoke ID

Run the gate as a resident process: agents submit commands over HTTP or a Unix socket,
reviewers decide in the web console (or through the API), auditors read, verify and report.
It uses the same store and policy as the CLI; a waiting \`check\` keeps working next to it.

Listens on loopback TCP (--host, --port) and on a Unix socket created 0600 next to the
store (--socket). The socket is authenticated by its permissions: a local agent needs no
token there. Over TCP every request needs a bearer token (Authorization: Bearer pgt_…).

  API       http://HOST:PORT/v1/…  (OpenAPI: /v1/openapi.json)
  console   http://localhost:PORT/ui/#token=TOKEN

Options:
  --host ADDR        TCP address (default 127.0.0.1; put TLS in front of anything else)
  --port N           TCP port (default 8731; 0: any free port)
  --socket PATH      Unix socket (default: serve.sock next to the store); --no-socket: none
  --origin URL       the public origin browsers use (behind a TLS proxy: https://gate.example);
                     passkeys are bound to it (default http://localhost:PORT)
  --rate-limit N     requests per minute per token (default 1200; 0: no limit)
  --demo             a throwaway store and policy, a demo reviewer token and an agent
                     submitting a mix of commands: see the whole loop from one command
  --log-level LEVEL  fatal | error | warn | info | debug (default info; logs go to stderr)
  --store STORE      audit store: a file, sqlite:PATH or postgres://… (env POLICY_GATE_STORE;
                     default: gate.yaml store:, the nearest .policy-gate/ here or above,
                     else ~/.policy-gate/audit.db)
  --policy DIR       policy directory (default: the shipped policies; env POLICY_GATE_POLICY)
  -h, --help         show this help

Tokens (kept as SHA-256 hashes in the state directory's tokens.json, mode 0600; a token is
printed once, when created; a running server sees changes at once):
  --name NAME        who the token speaks for: an agent's name, or a reviewer id in reviewers.yaml
  --role ROLE        agent (submit, read its own commands) · reviewer (queue, decide) ·
                     auditor (read, verify, report) · admin (everything)

Environment: POLICY_GATE_SERVE_TOKEN  a token printed for the console link at start (optional)

Exit codes: 0 stopped cleanly (SIGINT/SIGTERM) or token command done · 2 usage error, the
port or socket in use, or an unusable store or policy

Examples:
  policy-gate serve token create --name alice --role reviewer
  policy-gate serve --port 8731
  curl -s -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8731/v1/queue
  echo 'git status' | policy-gate check --server unix:.policy-gate/serve.sock
  policy-gate serve --demo
`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  host: { type: 'string' },
  port: { type: 'string' },
  socket: { type: 'string' },
  'no-socket': { type: 'boolean' },
  origin: { type: 'string' },
  'rate-limit': { type: 'string' },
  demo: { type: 'boolean' },
  'log-level': { type: 'string' },
  name: { type: 'string' },
  role: { type: 'string' },
  note: { type: 'string' },
} as const;

export const command = defineCommand({
  name: 'serve',
  help: HELP,
  options: OPTIONS,
  default: { run: serve },
  subcommands: { token: { operands: ['create|list|revoke', '[ID]'], run: token } },
});

function integer(p: Parsed, name: string, fallback: number, max: number): number {
  const text = str(p, name);
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) > max)
    throw usageError(`--${name} expects a whole number from 0 to ${max}, got ${JSON.stringify(text)}`);
  return Number(text);
}

async function serve(p: Parsed, io: CliIo): Promise<number> {
  const { runServer } = await import('./server/run.js');
  const level = str(p, 'log-level') ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(level))
    throw usageError(`--log-level ${JSON.stringify(level)}: expected fatal, error, warn, info, debug or silent`);
  return runServer(
    {
      host: str(p, 'host') ?? '127.0.0.1',
      port: integer(p, 'port', 8731, 65535),
      socket: bool(p, 'no-socket') ? null : (str(p, 'socket') ?? 'default'),
      origin: str(p, 'origin'),
      rateLimit: integer(p, 'rate-limit', 1200, 1_000_000),
      demo: bool(p, 'demo'),
      logLevel: level,
      parsed: p,
    },
    io,
  );
}

async function token(p: Parsed, io: CliIo): Promise<number> {
  const [action, id] = p.positionals;
  const { TokenStore, ROLES } = await import('./server/tokens.js');
  const tokens = TokenStore.forState(locations(p, io).state);
  switch (action) {
    case 'create': {
      const name = str(p, 'name');
      const role = str(p, 'role');
      if (name === undefined || role === undefined)
        throw usageError('serve token create needs --name NAME and --role ROLE', `roles: ${ROLES.join(', ')}`);
      if (id !== undefined) throw usageError(`unexpected argument ${JSON.stringify(id)}`);
      const { token, entry } = tokens.create(name, role as (typeof ROLES)[number], str(p, 'note') ?? null);
      if (bool(p, 'json')) io.stdout.write(`${JSON.stringify({ token, ...entry })}\n`);
      else {
        io.stdout.write(`${token}\n`);
        io.stderr.write(
          `policy-gate: token ${entry.id} for ${entry.identity} (${entry.role}) created in ${tokens.path}; ` +
            'it is shown only now\n',
        );
      }
      return ExitCode.Allowed;
    }
    case 'list': {
      const list = tokens.list().map(({ sha256: _hash, ...rest }) => rest);
      if (bool(p, 'json')) io.stdout.write(`${JSON.stringify(list)}\n`);
      else if (list.length === 0) io.stdout.write(`no tokens in ${tokens.path}\n`);
      else
        for (const t of list)
          io.stdout.write(
            `${t.id}  ${t.role.padEnd(8)}  ${t.identity}  created ${t.created_at}` +
              `${t.revoked_at ? `  REVOKED ${t.revoked_at}` : ''}${t.note ? `  (${t.note})` : ''}\n`,
          );
      return ExitCode.Allowed;
    }
    case 'revoke': {
      if (id === undefined) throw usageError('expected: serve token revoke ID');
      const entry = tokens.revoke(id);
      io.stdout.write(`revoked ${entry.id} (${entry.identity}, ${entry.role}) at ${entry.revoked_at}\n`);
      return ExitCode.Allowed;
    }
    default:
      throw usageError(`unknown serve token action ${JSON.stringify(action)}: expected create, list or revoke`);
  }
}
