/**
 * Risk scoring: hits (rules and context signals) → risk_score 0–100 and a level. Pure
 * functions of their inputs, so they can be property-tested and any decision replayed.
 */
import type { Level } from '../model/verdict.js';
import type { GateDefinition } from '../policy/types.js';

/**
 * Damped noisy-OR: the strongest hit counts fully, every other hit contributes `damping` of
 * its probability. Adding a hit never lowers the score (a new maximum replaces the old one,
 * which then counts damped: (1 − m′)(1 − d·m) ≤ 1 − m for m′ ≥ m), and many weak hits do not
 * add up to a critical one on their own. One score per rule: the same rule on several
 * segments counts once.
 */
export function combine(scores: readonly number[], damping: number): number {
  if (scores.length === 0) return 0;
  let max = 0;
  let maxIndex = -1;
  scores.forEach((s, i) => {
    if (s > max) {
      max = s;
      maxIndex = i;
    }
  });
  let rest = 1;
  scores.forEach((s, i) => {
    if (i !== maxIndex) rest *= 1 - (damping * s) / 100;
  });
  const p = 1 - (1 - max / 100) * rest;
  // floor, not round: a sum must never be reported above what the inputs justify
  return Math.min(100, Math.max(0, Math.floor(p * 100 + 1e-9)));
}

export function levelOf(score: number, levels: GateDefinition['levels']): Level {
  if (score >= levels.critical) return 'critical';
  if (score >= levels.high) return 'high';
  if (score >= levels.medium) return 'medium';
  return 'low';
}
