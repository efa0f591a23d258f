/**
 * Program anchors: for each rule, a set of program names such that the rule can only match a
 * script that runs one of them (null: no such set, always evaluate). Checking the anchor is a
 * set lookup, so most rules are skipped for most commands without compiling or running them.
 * An anchor must be a necessary condition, never a guess: when in doubt, return null.
 */
import type { MatchDefinition, SegmentPredicate, SetsDefinition } from './types.js';

type Anchor = ReadonlySet<string> | null;

function union(parts: Anchor[]): Anchor {
  if (parts.length === 0 || parts.some((p) => p === null)) return null;
  const out = new Set<string>();
  for (const p of parts) for (const x of p!) out.add(x);
  return out;
}

function segmentAnchor(p: SegmentPredicate, sets: SetsDefinition, seen: Set<string>): Anchor {
  const candidates: Anchor[] = [];
  if (p.program !== undefined) {
    const names = Array.isArray(p.program) ? p.program : [p.program];
    // a glob (`mkfs.*`) is not a finite set of names
    candidates.push(names.some((n) => /[*?[{]/.test(n)) ? null : new Set(names));
  }
  if (p.ref !== undefined && !seen.has(p.ref)) {
    const def = sets.segments?.[p.ref];
    candidates.push(def ? segmentAnchor(def, sets, new Set([...seen, p.ref])) : null);
  }
  if (p.any) candidates.push(union(p.any.map((a) => segmentAnchor(a, sets, seen))));
  if (p.all) for (const a of p.all) candidates.push(segmentAnchor(a, sets, seen));
  // every key must hold, so any one anchored key is a necessary condition: take the smallest
  const anchored = candidates.filter((c): c is ReadonlySet<string> => c !== null);
  if (anchored.length === 0) return null;
  return anchored.reduce((a, b) => (b.size < a.size ? b : a));
}

export function matchAnchor(m: MatchDefinition, sets: SetsDefinition): Anchor {
  const candidates: Anchor[] = [];
  if (m.segment) candidates.push(segmentAnchor(m.segment, sets, new Set()));
  if (m.flow) {
    const to = segmentAnchor(m.flow.to, sets, new Set());
    candidates.push(to ?? segmentAnchor(m.flow.from, sets, new Set()));
  }
  if (m.redirect?.segment) candidates.push(segmentAnchor(m.redirect.segment, sets, new Set()));
  if (m.sequence && m.sequence[0]) candidates.push(segmentAnchor(m.sequence[0], sets, new Set()));
  if (m.any) candidates.push(union(m.any.map((a) => matchAnchor(a, sets))));
  if (m.all) for (const a of m.all) candidates.push(matchAnchor(a, sets));
  // keys that need no program (assignments, issues, functions, bare redirects) leave it open
  if (m.assignment || m.issue || m.function || (m.redirect && !m.redirect.segment)) candidates.push(null);
  const anchored = candidates.filter((c): c is ReadonlySet<string> => c !== null);
  if (anchored.length === 0) return null;
  // all keys of a match must hold: one anchored key suffices
  return anchored.reduce((a, b) => (b.size < a.size ? b : a));
}
