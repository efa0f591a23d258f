/**
 * What programs run in turn: a shell's `-c` string, eval's text, ssh's remote command, find
 * -exec, a container's command, an interpreter's code, options and variables that carry a
 * command line, and text a pipeline feeds to a shell. Each is parsed into nested segments.
 * Which words a program runs is its grammar's answer (grammars.ts, from registry.ts); this file
 * only parses them.
 */
import { joinSpan, type WordEx } from './decode.js';
import { programRuns, type Run } from './grammars.js';
import type { Redirect, Span, Via } from './ir.js';
import { extractCommandLines, extractEscapes, scanCapabilities } from './payload.js';
import type { EscapeSyntax } from './registry.js';
import { Segments } from './segments.js';
import { escapeForDisplay } from './text.js';
import type { Frame, SegmentDraft } from './walk-state.js';

export abstract class Programs extends Segments {
  /** What a segment's program runs in turn, by its grammar (grammars.ts), parsed. */
  protected programPayloads(seg: SegmentDraft, frame: Frame): number[] {
    const out: number[] = [];
    for (const run of programRuns(seg.program!, seg.argv)) out.push(...this.runNested(seg, frame, run));
    return out;
  }

  private runNested(seg: SegmentDraft, frame: Frame, run: Run): number[] {
    switch (run.kind) {
      case 'script':
        return this.shellPayload(run.word, frame, seg.id, run.via, remoteOf(run.remote));
      case 'joined':
        return this.joinedPayload([...run.words], frame, seg.id, run.via, remoteOf(run.remote));
      case 'argv': {
        const words = [...run.words];
        const span = joinSpan(words[0]!.span, words[words.length - 1]!.span);
        return this.buildSegment(
          words,
          { ...this.child(frame, run.via, seg.id), ...remoteOf(run.remote) },
          span,
          [],
          [],
          [],
        );
      }
      case 'line':
        return this.commandString(run.word, frame, seg.id, run.syntax, run.via);
      case 'code':
        return this.setPayload(seg, frame, run.language, run.word);
      case 'stdin':
        seg.stdin = run.language === null ? { kind: 'shell' } : { kind: 'interpreter', language: run.language };
        return [];
      case 'issue':
        this.issue(run.code, run.message, seg.span);
        return [];
    }
  }

  protected shellPayload(word: WordEx, frame: Frame, parent: number, via: Via, extra: Partial<Frame> = {}): number[] {
    if (word.substituted) {
      this.issue(
        'dynamic-payload',
        `runs code produced at run time: ${JSON.stringify(escapeForDisplay(word.text.slice(0, 60)))}`,
        word.span,
      );
      return [];
    }
    this.expandedCode([word]);
    return this.parseText(word.text, this.payloadFrame(frame, word, via, parent, extra));
  }

  protected joinedPayload(
    words: WordEx[],
    frame: Frame,
    parent: number,
    via: Via,
    extra: Partial<Frame> = {},
  ): number[] {
    if (words.some((w) => w.substituted)) {
      this.issue(
        'dynamic-payload',
        'runs code produced at run time',
        joinSpan(words[0]!.span, words[words.length - 1]!.span),
      );
      return [];
    }
    this.expandedCode(words);
    const text = words.map((w) => w.text).join(' ');
    return this.parseText(
      text,
      this.textFrame(frame, joinSpan(words[0]!.span, words[words.length - 1]!.span), via, parent, extra),
    );
  }

  /**
   * Code holding a variable or a glob is parsed by bash after expansion, so what the IR reads of
   * it (scored all the same) may not be what runs: `eval "ls # $x"` runs whatever follows a
   * newline in $x.
   */
  protected expandedCode(words: readonly WordEx[]): void {
    const open = words.find((w) => w.dynamic || w.glob);
    if (!open) return;
    this.issue(
      'expanded-code',
      'runs code holding a run-time value, which bash parses only once it is expanded: ' +
        JSON.stringify(escapeForDisplay(open.text.slice(0, 60))),
      open.span,
    );
  }

  /**
   * A command line carried by an option (`via` command-string) or by a variable or alias
   * (`via` variable), in shell syntax or in another program's escape syntax.
   */
  protected commandString(
    word: WordEx,
    frame: Frame,
    parent: number | null,
    syntax: EscapeSyntax,
    via: Via = 'command-string',
  ): number[] {
    const owner = parent ?? frame.parent;
    if (syntax === 'shell') {
      let w = word;
      // a leading `!` marks a shell alias or escape in git and hg configuration
      if (w.text.startsWith('!')) w = { ...w, text: w.text.slice(1), exact: w.exact === null ? null : w.exact + 1 };
      if (owner === null) return this.parseText(w.text, { ...this.payloadFrame(frame, w, via, 0), parent: null });
      return this.shellPayload(w, frame, owner, via);
    }
    const out: number[] = [];
    for (const line of extractEscapes(word.text, syntax)) {
      out.push(...this.parseText(line, { ...this.textFrame(frame, word.span, via, owner ?? 0), parent: owner }));
    }
    return out;
  }

  protected setPayload(seg: SegmentDraft, frame: Frame, language: string, code: WordEx): number[] {
    seg.payload = {
      language,
      text: code.text,
      dynamic: code.dynamic,
      capabilities: scanCapabilities(code.text),
      span: code.span,
    };
    const out: number[] = [];
    for (const line of extractCommandLines(code.text, language)) {
      out.push(...this.parseText(line, this.textFrame(frame, code.span, 'interpreter', seg.id)));
    }
    return out;
  }

  /** Text that reaches a program's standard input: a script for a shell, code for an interpreter. */
  protected feedStdin(seg: SegmentDraft, text: WordEx, frame: Frame): number[] {
    if (!seg.stdin) return [];
    if (seg.stdin.kind === 'shell') {
      return this.shellPayload(text, frame, seg.id, 'shell-stdin');
    }
    if (seg.payload) return [];
    return this.setPayload(seg, frame, seg.stdin.language, text);
  }

  /**
   * `echo 'rm -rf /' | sh`, `printf … | base64 -d | bash`, `cat <<EOF | python3`: when a
   * pipeline's producer prints a literal (after known decoders), the consumer's script is known.
   */
  protected feedLiterals(groups: number[][], frame: Frame): void {
    for (let i = 0; i + 1 < groups.length; i++) {
      const producer = groups[i]!.length === 1 ? this.segments[groups[i]![0]!]! : null;
      if (!producer) continue;
      const literal = literalOutput(producer, this.redirectTexts);
      if (literal === null) continue;
      let { text } = literal;
      let source: WordEx | null = literal.word;
      let j = i + 1;
      while (j < groups.length && groups[j]!.length >= 1) {
        const consumer = this.segments[groups[j]![0]!]!;
        const decoded = applyDecoder(consumer, text);
        if (decoded !== undefined) {
          if (decoded === null) break;
          text = decoded;
          source = null;
          j++;
          continue;
        }
        if (consumer.stdin) {
          const word: WordEx = source ?? {
            text,
            dynamic: false,
            glob: false,
            span: literal.span,
            exact: null,
            substituted: false,
          };
          const ids = this.feedStdin(
            consumer,
            word,
            this.child(frame, frame.via, frame.parent, { privileged: consumer.privileged }),
          );
          for (const id of ids) this.flow(producer.id, id, 'literal');
        }
        break;
      }
    }
  }
}

interface Literal {
  text: string;
  /** The word that holds exactly this text, so nested spans stay precise. */
  word: WordEx | null;
  span: Span;
}

/** What a producer prints when it is known without running anything. */
function literalOutput(seg: SegmentDraft, texts: Map<Redirect, WordEx>): Literal | null {
  const args = seg.argv.slice(1);
  if (args.some((a) => a.dynamic || a.glob)) return null;
  const span = args.length > 0 ? joinSpan(args[0]!.span, args[args.length - 1]!.span) : seg.span;
  const text = literalText(seg, args, texts);
  if (text === null) return null;
  if (text instanceof Object) return { text: text.text, word: text, span: text.span };
  const only = args.length === 1 && args[0]!.text === text ? args[0]! : null;
  return { text, word: only, span };
}

function literalText(seg: SegmentDraft, args: WordEx[], texts: Map<Redirect, WordEx>): string | WordEx | null {
  switch (seg.program) {
    case 'echo': {
      let i = 0;
      let escapes = false;
      while (i < args.length && /^-[neE]+$/.test(args[i]!.text)) {
        if (args[i]!.text.includes('e')) escapes = true;
        i++;
      }
      const text = args
        .slice(i)
        .map((a) => a.text)
        .join(' ');
      return escapes
        ? text.replace(/\\(x[0-9a-fA-F]{1,2}|0[0-7]{0,3}|[abefnrtv\\])/g, (m) =>
            m === '\\\\' ? '\\' : m === '\\n' ? '\n' : m === '\\t' ? '\t' : m,
          )
        : text;
    }
    case 'printf': {
      if (args.length === 0) return null;
      let fmt = args[0]!.text;
      const rest = args.slice(1).map((a) => a.text);
      if (fmt === '--' && args[1]) fmt = args[1].text;
      let k = 0;
      fmt = fmt.replace(/%[sb]/g, () => rest[k++] ?? '');
      return fmt.replace(/\\n/g, '\n').replace(/\\t/g, '\t');
    }
    case 'cat': {
      if (args.length > 0 && !(args.length === 1 && args[0]!.text === '-')) return null;
      for (const r of seg.redirects) {
        const t = texts.get(r);
        if (t && !t.dynamic) return t;
      }
      return null;
    }
    default:
      return null;
  }
}

/**
 * Known decoders in a pipeline. undefined: not a decoder (the consumer is reached); null: a
 * decoder whose output cannot be computed (stop following the literal); else the decoded text.
 */
function applyDecoder(seg: SegmentDraft, text: string): string | null | undefined {
  const args = seg.argv.slice(1).map((a) => a.text);
  const has = (...flags: string[]): boolean => args.some((a) => flags.includes(a));
  switch (seg.program) {
    case 'base64':
    case 'b64decode':
    case 'base32':
      if (seg.program === 'b64decode' || has('-d', '--decode', '-D')) {
        if (seg.program === 'base32') return null;
        const clean = text.replace(/\s+/g, '');
        if (!/^[A-Za-z0-9+/=_-]*$/.test(clean)) return null;
        return Buffer.from(clean, 'base64').toString('utf8');
      }
      return undefined;
    case 'xxd':
      if (has('-r') && (has('-p') || has('-ps') || has('-r -p'))) {
        const clean = text.replace(/\s+/g, '');
        return /^[0-9a-fA-F]*$/.test(clean) ? Buffer.from(clean, 'hex').toString('utf8') : null;
      }
      return undefined;
    case 'rev':
      return text
        .split('\n')
        .map((l) => [...l].reverse().join(''))
        .join('\n');
    case 'gunzip':
    case 'zcat':
    case 'openssl':
    case 'tr':
    case 'sed':
      return null;
    default:
      return undefined;
  }
}

/** The host a nested script or command runs on, when its grammar names one. */
function remoteOf(remote: string | null | undefined): Partial<Frame> {
  return remote === undefined ? {} : { remote };
}
