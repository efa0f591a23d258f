/**
 * An evidence bundle: the whole trail as stored (every event's exact bytes and hashes), the
 * signed checkpoints, the pinned verifier keys, what each recorded policy revision said about
 * reviewers and whitelist rules, and the recordings — enough for `verify --bundle` to check the
 * trail on another machine, without the store. The keys in a bundle are the exporter's; an
 * auditor who pinned the gate's key elsewhere passes it with --trusted-keys instead.
 */
import type { PolicyAt } from './verify.js';
import type { RawEvent } from './chain.js';

export const BUNDLE_FORMAT = 'policy-gate-bundle/v1';

export interface Bundle {
  readonly format: typeof BUNDLE_FORMAT;
  readonly created_at: string;
  readonly events: readonly {
    seq: number;
    type: string;
    command_id: string | null;
    at: string;
    bytes: string;
    leaf: string;
    chain: string;
  }[];
  readonly checkpoints: readonly string[];
  readonly keys: readonly string[];
  /** Policy revision → reviewers (id → key fingerprint, agents) and whitelist rule ids. */
  readonly policies: Readonly<
    Record<
      string,
      { reviewers: Record<string, { fingerprint: string; agents: string[] }>; whitelist: string[]; source: string }
    >
  >;
  /** Recording path → base64 bytes. */
  readonly recordings: Readonly<Record<string, string>>;
}

export function bundleEvent(e: RawEvent): Bundle['events'][number] {
  return {
    seq: e.seq,
    type: e.type,
    command_id: e.command_id,
    at: e.at,
    bytes: e.bytes.toString('base64'),
    leaf: e.leaf.toString('hex'),
    chain: e.chain.toString('hex'),
  };
}

export function bundlePolicy(p: PolicyAt): Bundle['policies'][string] {
  return {
    reviewers: Object.fromEntries(
      [...p.reviewers].map(([id, r]) => [id, { fingerprint: r.fingerprint, agents: [...r.agents] }]),
    ),
    whitelist: [...p.whitelist].sort(),
    source: p.source,
  };
}

/** Read a bundle; throws an Error naming what is wrong with it. */
export function parseBundle(text: string): {
  bundle: Bundle;
  events: RawEvent[];
  policyAt: (revision: string) => PolicyAt | null;
  recording: (path: string) => Buffer | null;
} {
  let bundle: Bundle;
  try {
    bundle = JSON.parse(text) as Bundle;
  } catch {
    throw new Error('the bundle is not JSON');
  }
  if (bundle?.format !== BUNDLE_FORMAT) throw new Error(`not a ${BUNDLE_FORMAT} bundle`);
  if (!Array.isArray(bundle.events) || !Array.isArray(bundle.checkpoints) || !Array.isArray(bundle.keys))
    throw new Error('the bundle lacks events, checkpoints or keys');
  const events = bundle.events.map((e) => ({
    seq: e.seq,
    type: e.type,
    command_id: e.command_id,
    at: e.at,
    bytes: Buffer.from(e.bytes, 'base64'),
    leaf: Buffer.from(e.leaf, 'hex'),
    chain: Buffer.from(e.chain, 'hex'),
  }));
  const policies = bundle.policies ?? {};
  const policyAt = (revision: string): PolicyAt | null => {
    const p = policies[revision];
    if (!p) return null;
    return { reviewers: new Map(Object.entries(p.reviewers)), whitelist: new Set(p.whitelist), source: p.source };
  };
  const recording = (path: string): Buffer | null =>
    bundle.recordings?.[path] === undefined ? null : Buffer.from(bundle.recordings[path]!, 'base64');
  return { bundle, events, policyAt, recording };
}
