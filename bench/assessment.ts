/**
 * In-process assessment (parse + rules + whitelist) against tree-sitter-bash parsing alone, over
 * the same commands: the everyday corpus (bench/routine.jsonl) and, when present, the first
 * BENCH_CORPUS_COMMANDS (2,000) of the shared benign and malicious corpora (BENCH_CORPORA). Both
 * are warmed up first and then run in alternating rounds, so they see the same machine load; the
 * ratio is what the gate adds on top of the parser.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type Parser from 'tree-sitter';
import { assess, loadPolicy, shippedPolicyDir } from '../engine/index.js';
import { percentile, round, type BenchResults } from './results.js';

const require = createRequire(import.meta.url);

function commandsOf(file: string, limit: number): string[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .slice(0, limit)
    .map((l) => (JSON.parse(l) as { cmd: string }).cmd);
}

export async function assessmentFigures(results: BenchResults, root: string): Promise<void> {
  const limit = Number(process.env.BENCH_CORPUS_COMMANDS ?? 2000);
  // the shared corpora beside the checkout, or where BENCH_CORPORA says
  const corpora = process.env.BENCH_CORPORA ?? join(root, '..', 'shared', 'corpora');
  const sources: [string, string[]][] = [
    ['bench/routine.jsonl', commandsOf(join(root, 'bench', 'routine.jsonl'), Infinity)],
    ['corpora/benign.jsonl', commandsOf(join(corpora, 'benign.jsonl'), limit)],
    ['corpora/malicious.jsonl', commandsOf(join(corpora, 'malicious.jsonl'), limit)],
  ];
  const policy = await loadPolicy(shippedPolicyDir());
  const ParserClass = require('tree-sitter') as typeof Parser;
  const parser = new ParserClass();
  parser.setLanguage(require('tree-sitter-bash') as Parser.Language);
  const now = new Date('2026-01-07T12:00:00Z');
  const section = results.section('assessment', {
    title:
      `In-process assessment (parse + ${policy.rules.length} rules + ${policy.whitelist.length} whitelist rules) ` +
      'against tree-sitter-bash parsing alone',
    baseline: 'parses/s of tree-sitter-bash over the same commands, in alternating rounds',
    columns: ['commands', 'n', 'parses/s', 'assessments/s', 'parse ÷ assess', 'assess p50 µs', 'assess p99 µs'],
  });
  for (const [name, commands] of sources) {
    if (commands.length === 0) continue;
    for (const c of commands.slice(0, 300)) {
      assess(c, policy, { now }); // JIT warm-up
      parser.parse(c);
    }
    const latencies: number[] = [];
    let parseMs = 0;
    const rounds = 3;
    for (let r = 0; r < rounds; r++) {
      let t = performance.now();
      for (const c of commands) parser.parse(c);
      parseMs += performance.now() - t;
      for (const c of commands) {
        t = performance.now();
        assess(c, policy, { now });
        latencies.push(performance.now() - t);
      }
    }
    const assessMs = latencies.reduce((a, b) => a + b, 0);
    latencies.sort((a, b) => a - b);
    const parses = (rounds * commands.length) / (parseMs / 1000);
    const assessments = latencies.length / (assessMs / 1000);
    section.add({
      commands: name,
      n: commands.length,
      'parses/s': Math.round(parses),
      'assessments/s': Math.round(assessments),
      'parse ÷ assess': round(parses / assessments, 1),
      'assess p50 µs': Math.round(percentile(latencies, 50) * 1000),
      'assess p99 µs': Math.round(percentile(latencies, 99) * 1000),
    });
  }
}
