/**
 * Who is acting, as the operating system says: the account and host a process runs under. It is
 * context for the trail (and for `separate_accounts`), not an authentication: reviewers
 * authenticate with their signing keys.
 */
import { readFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import type { Submitter } from '../model/events.js';

let cached: Submitter | null = null;

export function osIdentity(): Submitter {
  if (cached) return cached;
  let user: string;
  let uid: number;
  try {
    const info = userInfo();
    user = info.username;
    uid = info.uid;
  } catch {
    // no passwd entry (some containers): the uid still identifies the account
    uid = typeof process.getuid === 'function' ? process.getuid() : -1;
    user = `uid:${uid}`;
  }
  cached = { user, uid, host: hostname() };
  return cached;
}

let bootId: string | null | undefined;

/** This boot's identifier (Linux), so monotonic readings from two processes can be compared. */
export function currentBootId(): string | null {
  if (bootId !== undefined) return bootId;
  try {
    bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
  } catch {
    bootId = null;
  }
  return bootId;
}
