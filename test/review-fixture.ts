/**
 * Reviewers for tests: real ed25519 keys made by ssh-keygen, and a copy of the shipped policy
 * that lists them in reviewers.yaml, with gate.yaml settings changed as a test needs.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { loadPolicy, type Policy } from '../engine/index.js';
import { POLICY_DIR, tempDir } from './helpers.js';

export interface Key {
  /** The private key file. */
  readonly file: string;
  /** The public key file. */
  readonly pubFile: string;
  /** `ssh-ed25519 AAAA… comment` */
  readonly pub: string;
}

const keyDir = tempDir('policy-gate-keys-');
const keys = new Map<string, Key>();

/** An ed25519 key pair made by ssh-keygen (one per name per test run). */
export function keyFor(name: string): Key {
  const existing = keys.get(name);
  if (existing) return existing;
  const file = join(keyDir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${name}@test`, '-f', file]);
  const key = { file, pubFile: `${file}.pub`, pub: readFileSync(`${file}.pub`, 'utf8').trim() };
  keys.set(name, key);
  return key;
}

export interface ReviewerSpec {
  readonly id: string;
  readonly roles?: string[];
  readonly agents?: string[];
  /** Whose key to list (default: the reviewer's own). */
  readonly keyOf?: string;
}

/**
 * A policy directory: the shipped policy with these reviewers, and gate.yaml values set at the
 * given paths (e.g. `{ 'review.approvals': { low: 2 } }`).
 */
export function reviewPolicyDir(reviewers: readonly ReviewerSpec[], gate: Record<string, unknown> = {}): string {
  const dir = join(tempDir('policy-gate-review-policy-'), 'policies');
  cpSync(POLICY_DIR, dir, { recursive: true });
  const list = reviewers.map((r) => ({
    id: r.id,
    name: r.id[0]!.toUpperCase() + r.id.slice(1),
    roles: r.roles ?? ['reviewer'],
    key: keyFor(r.keyOf ?? r.id).pub,
    ...(r.agents ? { agents: r.agents } : {}),
  }));
  writeFileSync(join(dir, 'reviewers.yaml'), `reviewers: ${JSON.stringify(list, null, 2)}\n`);
  const doc = parseDocument(readFileSync(join(dir, 'gate.yaml'), 'utf8'));
  for (const [path, value] of Object.entries(gate)) doc.setIn(path.split('.'), doc.createNode(value));
  writeFileSync(join(dir, 'gate.yaml'), doc.toString());
  return dir;
}

export async function reviewPolicy(
  reviewers: readonly ReviewerSpec[],
  gate: Record<string, unknown> = {},
): Promise<Policy> {
  return loadPolicy(reviewPolicyDir(reviewers, gate), { cacheDir: tempDir('policy-gate-cache-'), git: false });
}

export const ALICE: ReviewerSpec = { id: 'alice' };
export const BOB: ReviewerSpec = { id: 'bob', agents: ['bob-bot'] };
export const CAROL: ReviewerSpec = { id: 'carol', roles: ['auditor'] };
