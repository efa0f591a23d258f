/**
 * Simple commands to segments: the words of a command sorted into prefix assignments, the
 * command's words and its redirects (where tree-sitter split or joined them otherwise than
 * bash), then the wrappers (`sudo`, `env`, `timeout` … registry.ts) taken off, so that a segment
 * names the program that really runs.
 */
import type { SyntaxNode } from 'tree-sitter';
import { Assignments } from './assignments.js';
import { assignmentName, joinSpan, sameWord, type WordEx } from './decode.js';
import { unwrap } from './grammars.js';
import type { Redirect, Span, Via, WrapperUse } from './ir.js';
import { PARSE_LIMITS } from './limits.js';
import { WRAPPERS } from './registry.js';
import { basename, escapeForDisplay } from './text.js';
import type { Frame, PendingSubstitution, SegmentDraft } from './walk-state.js';

/** Bash's reserved words: at the start of a command they are syntax. */
const RESERVED_WORDS = new Set([
  '!',
  '{',
  '}',
  'if',
  'then',
  'else',
  'elif',
  'fi',
  'case',
  'esac',
  'for',
  'select',
  'while',
  'until',
  'do',
  'done',
  'in',
  'function',
  'time',
  '[[',
  ']]',
  'coproc',
]);

export abstract class Segments extends Assignments {
  /** Parses a word as a shell script run by `parent` (programs.ts). */
  protected abstract shellPayload(
    word: WordEx,
    frame: Frame,
    parent: number,
    via: Via,
    extra?: Partial<Frame>,
  ): number[];

  /** Parses words joined by blanks as a shell script run by `parent` (programs.ts). */
  protected abstract joinedPayload(
    words: WordEx[],
    frame: Frame,
    parent: number,
    via: Via,
    extra?: Partial<Frame>,
  ): number[];

  /** Reports text between a node's children that tree-sitter dropped (statements.ts). */
  protected abstract checkCoverage(node: SyntaxNode, frame: Frame, statements?: boolean): void;

  /** What a segment's program runs in turn (programs.ts). */
  protected abstract programPayloads(seg: SegmentDraft, frame: Frame): number[];

  /** Text that reaches a segment's standard input (programs.ts). */
  protected abstract feedStdin(seg: SegmentDraft, text: WordEx, frame: Frame): number[];

  /**
   * A simple command: `node` is a command, or assignments standing alone (`children` are then
   * the assignment nodes, which tree-sitter may have misread: see below).
   */
  protected command(
    node: SyntaxNode,
    frame: Frame,
    outerRedirects: SyntaxNode[],
    extra: SyntaxNode[],
    list?: readonly SyntaxNode[],
  ): number[] {
    const pending: PendingSubstitution[] = [];
    const prefix: SyntaxNode[] = [];
    let nameNode: SyntaxNode | null = null;
    const argNodes: SyntaxNode[] = [];
    const redirectNodes: SyntaxNode[] = [];
    const children = list ?? node.children;
    // a node touching a prefix assignment is the rest of its value (`x={,$x,}a cmd`, `x=$(a)\= cmd`,
    // `z={a,}\nx=1`): tree-sitter ends the assignment early and reads the rest as the command
    let assigning: { node: SyntaxNode; end: number } | null = null;
    // `--opt=v` or `\nx=1` is no assignment (not a name): it and all after it are words
    let pastPrefix = false;
    for (let i = 0; i < children.length; i++) {
      const c = children[i]!;
      const field = list ? null : node.fieldNameForChild(i);
      if (
        assigning &&
        c.type !== 'comment' &&
        !c.type.endsWith('_redirect') &&
        sameWord({ endIndex: assigning.end } as SyntaxNode, c, frame.text)
      ) {
        const tail = this.tails.get(assigning.node.id) ?? [];
        tail.push(...(c.type === 'command_name' && c.children.length > 0 ? c.children : [c]));
        this.tails.set(assigning.node.id, tail);
        assigning.end = c.endIndex;
        continue;
      }
      if (c.type === 'variable_assignment' && (pastPrefix || !assignmentName(c))) {
        pastPrefix = true;
        assigning = null;
        argNodes.push(c);
        continue;
      }
      assigning = c.type === 'variable_assignment' ? { node: c, end: c.endIndex } : null;
      if (field === 'name') nameNode = c;
      else if (field === 'argument') argNodes.push(c);
      else if (field === 'redirect' || c.type.endsWith('_redirect')) redirectNodes.push(c);
      else if (c.type === 'variable_assignment') prefix.push(c);
      else if (c.type === 'subshell') argNodes.push(c);
      else if (c.type === 'comment') continue;
      else if (c.isNamed && c.type !== 'command_name') argNodes.push(c);
    }
    const allRedirects = [...redirectNodes, ...outerRedirects];
    // nodes touching a redirect are the rest of its word (`<<< \`a\`\<`): tree-sitter ends it early
    for (const r of allRedirects) {
      const tail: SyntaxNode[] = [];
      for (let end: SyntaxNode = r, k = 0; k !== -1;) {
        k = argNodes.findIndex((a) => a.startIndex >= end.endIndex && sameWord(end, a, frame.text));
        if (k !== -1) {
          end = argNodes[k]!;
          tail.push(...argNodes.splice(k, 1));
        }
      }
      if (tail.length > 0) this.tails.set(r.id, tail);
    }
    // tree-sitter-bash reads the `0` of `sh 0<&2` as an argument: it is the redirect's descriptor
    const fdOverride = new Map<SyntaxNode, number>();
    for (const r of allRedirects) {
      const k = argNodes.findIndex(
        (a) =>
          a.endIndex === r.startIndex && /^\d+$/.test(a.text) && !r.children.some((c) => c.type === 'file_descriptor'),
      );
      if (k !== -1) {
        fdOverride.set(r, Number(argNodes[k]!.text));
        argNodes.splice(k, 1);
      }
    }
    // decode redirects first: their stray destinations are arguments (`echo a > b c`)
    const extraArgs: SyntaxNode[] = [...extra];
    const resolved: { redirect: Redirect | null }[] = [];
    let fdCarry: number | null = null;
    const placeholderOwners: number[] = [];
    for (let i = 0; i < allRedirects.length; i++) {
      const r = allRedirects[i]!;
      const res = this.redirect(r, frame, placeholderOwners, extraArgs, pending, allRedirects[i + 1]);
      const fd = fdOverride.get(r) ?? fdCarry;
      if (res.redirect && fd !== null && res.redirect.fd === null) {
        const fixed = { ...res.redirect, fd };
        const t = this.redirectTexts.get(res.redirect);
        if (t) this.redirectTexts.set(fixed, t);
        res.redirect = fixed;
      }
      fdCarry = res.fdForNext;
      resolved.push(res);
    }
    this.checkCoverage(node, frame, false);
    const nameNodes = nameNode ? (nameNode.children.length > 0 ? nameNode.children : [nameNode]) : [];
    let words = this.words(
      [...nameNodes, ...argNodes, ...extraArgs].sort((a, b) => a.startIndex - b.startIndex),
      frame,
      pending,
      true,
    );
    // unquoted `NAME=value` before the command name is an assignment to bash, whatever tree-sitter read
    let lead = 0;
    while (lead < words.length && words[lead]!.assignment) lead++;
    const assigned = words.slice(0, lead);
    words = words.slice(lead);
    const span = this.nodeSpan(frame, node);
    const redirects = resolved.map((r) => r.redirect).filter((r): r is Redirect => r !== null);
    if (words.length === 0) {
      // only redirects and assignments (`> file`, `FOO=1 <in`): no program runs
      for (const a of prefix) this.assignment(a, frame, null, false);
      for (const w of assigned) this.wordAssignment(w, frame, null, false);
      for (const r of redirects) this.redirects.push(r);
      this.runSubstitutions(pending, frame.parent);
      return [];
    }
    return this.buildSegment(words, frame, span, prefix, redirects, pending, assigned);
  }

  /**
   * One segment from decoded words: wrappers unwrapped, then whatever the program runs in turn
   * (a shell's -c string, eval's text, ssh's remote command, find -exec, an interpreter's code,
   * options that carry commands) parsed into nested segments. Returns the segment first, then
   * the nested segments that share its standard input and output.
   */
  protected buildSegment(
    words: WordEx[],
    frame: Frame,
    span: Span,
    prefixNodes: SyntaxNode[],
    redirects: Redirect[],
    pending: PendingSubstitution[],
    prefixWords: WordEx[] = [],
  ): number[] {
    let argv = words;
    const wrappers: WrapperUse[] = [];
    const envWords: WordEx[] = [];
    let privileged = frame.privileged;
    let shellString: { word: WordEx; via: Via } | null = null;
    let joinedShellString: { words: WordEx[]; via: Via } | null = null;
    for (let n = 0; ; n++) {
      if (n >= PARSE_LIMITS.maxWrappers) {
        this.issue('too-deep', `more than ${PARSE_LIMITS.maxWrappers} nested wrappers`, span);
        break;
      }
      const head = argv[0];
      if (!head || head.dynamic || head.glob) break;
      const name = basename(head.text);
      const spec = WRAPPERS[name];
      if (!spec) break;
      const u = unwrap(argv, spec);
      if (spec.privileged) privileged = true;
      envWords.push(...u.assignments);
      if (u.commandString) {
        // `su -c STRING` hands the string to the user's shell, as `sh -c` does; other tools
        // run a command given in an option (`flock -c`, `script -c`)
        shellString = { word: u.commandString, via: spec.privileged ? 'shell-c' : 'command-string' };
        break;
      }
      if (spec.runsShellString && u.inner.length > 0 && !u.execForm) {
        joinedShellString = { words: u.inner, via: spec.shellStringVia ?? 'command-string' };
        break;
      }
      if (u.noCommand || u.inner.length === 0) break;
      const own = argv.slice(0, Math.max(1, u.consumed));
      wrappers.push({ name, argv: own.map((w) => w.text), span: joinSpan(head.span, own[own.length - 1]!.span) });
      argv = u.inner;
    }

    const head = argv[0]!;
    // `~/bin/tool` is the program `tool` in a directory only known at run time
    const dynamicName = (head.dynamic && !head.tilde) || head.glob;
    // a reserved word is syntax to bash, never a command's name: tree-sitter misread the statement
    if (!head.dynamic && RESERVED_WORDS.has(head.text) && frame.via !== 'find-exec' && frame.via !== 'container') {
      this.issue(
        'parse-error',
        `the parser read the reserved word ${JSON.stringify(head.text)} as a command`,
        head.span,
      );
    }
    const program = dynamicName ? null : basename(head.text);
    const id = this.newSegment(argv, frame, span, wrappers, redirects, program, privileged);
    for (const r of redirects) {
      (r.segments as number[]).push(id);
      this.redirects.push(r);
    }
    const seg = this.segments[id]!;
    for (const a of prefixNodes) {
      const assigned = this.assignment(a, frame, id, false);
      if (assigned) seg.assignments.push(assigned);
    }
    for (const w of prefixWords) seg.assignments.push(this.wordAssignment(w, frame, id, false));
    for (const w of envWords) seg.assignments.push(this.wordAssignment(w, frame, id, true));
    this.runSubstitutions(pending, id);
    this.variableFlows(words, id);
    if (program !== null) this.builtinArguments(seg);
    if (dynamicName) {
      this.issue(
        'dynamic-command',
        `the command name ${JSON.stringify(escapeForDisplay(head.text))} is only known at run time`,
        head.span,
      );
    }

    const shared: number[] = [];
    const inner = { ...frame, privileged };
    if (shellString) shared.push(...this.shellPayload(shellString.word, inner, id, shellString.via));
    if (joinedShellString)
      shared.push(...this.joinedPayload(joinedShellString.words, inner, id, joinedShellString.via));
    if (program !== null && !shellString && !joinedShellString) shared.push(...this.programPayloads(seg, inner));
    // a here-document or here-string feeds the program's standard input
    for (const r of redirects) {
      const text = this.redirectTexts.get(r);
      if (text && (r.fd === null || r.fd === 0)) shared.push(...this.feedStdin(seg, text, inner));
    }
    return [id, ...shared];
  }
}
