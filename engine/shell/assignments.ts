/**
 * Assignments and declarations: `NAME=value` before a command or standing alone, and the
 * declaration builtins (`declare`, `local`, `export`, `readonly`, `typeset`, `unset`), whose
 * `NAME=value` arguments are assignments too. A value is decoded as bash assigns it; what it
 * means beyond the assignment (a command line some program runs, a prompt string, an integer
 * attribute that evaluates it) is read here as well.
 */
import type { SyntaxNode } from 'tree-sitter';
import {
  atomsText,
  danglingExpansion,
  embeddedCommands,
  hasTildeExpansion,
  plainWord,
  sameWord,
  unquotedText,
  type WordEx,
} from './decode.js';
import type { Assignment, Via } from './ir.js';
import type { EscapeSyntax } from './registry.js';
import { COMMAND_VARIABLES } from './registry.js';
import type { Frame, PendingSubstitution } from './walk-state.js';
import { VARIABLE_REF, Words } from './words.js';

/** Prompt strings: their command substitutions run whenever bash shows them (PS4 under set -x). */
const PROMPT_VARIABLES = new Set(['PS0', 'PS1', 'PS2', 'PS4']);

/** A value holding an array subscript with a command in it (`a[$(id)]`). */
export const SUBSCRIPT_COMMAND = /\[[^\]]*(?:\$\(|`)/;

export abstract class Assignments extends Words {
  /** Parses a command line carried by an option, a variable or an alias (programs.ts). */
  protected abstract commandString(
    word: WordEx,
    frame: Frame,
    parent: number | null,
    syntax: EscapeSyntax,
    via?: Via,
  ): number[];

  /** The value a name with attributes really gets: run-time, and evaluated for an integer. */
  protected attributed(name: string, value: WordEx | null, frame: Frame, segment: number | null): WordEx | null {
    const attrs = this.attributes.get(name);
    if (!value || !attrs || attrs.size === 0) return value;
    if (
      attrs.has('i') &&
      /^\s*(?:0|[1-9][0-9]*)\s*$/.test(value.text) &&
      !attrs.has('u') &&
      !attrs.has('l') &&
      !attrs.has('c')
    )
      return value;
    if (attrs.has('i') && !value.dynamic)
      this.evaluatedText(value.text, value.span, frame, segment, `an assignment to the integer variable ${name}`);
    return { ...value, dynamic: true, exact: null };
  }

  /** `declare -i n`, `local +u s`: the attributes the options give or take away, for each name. */
  protected declareAttributes(words: readonly string[], names: readonly string[]): void {
    const add = new Set<string>();
    const remove = new Set<string>();
    for (const w of words) {
      const m = /^([-+])([a-zA-Z]+)$/.exec(w);
      if (!m) continue;
      for (const letter of m[2]!) if ('iulc'.includes(letter)) (m[1] === '-' ? add : remove).add(letter);
    }
    if (add.size === 0 && remove.size === 0) return;
    for (const name of names) {
      const set = new Set(this.attributes.get(name) ?? []);
      for (const l of add) set.add(l);
      for (const l of remove) set.delete(l);
      // -u and -l exclude each other: the last one given wins
      this.attributes.set(name, set);
    }
  }

  protected assignment(node: SyntaxNode, frame: Frame, segment: number | null, exported: boolean): Assignment | null {
    const nameNode = node.childForFieldName('name');
    const valueNode = node.childForFieldName('value');
    if (!nameNode) return null;
    const pending: PendingSubstitution[] = [];
    let value = this.assignmentValue(node, valueNode, frame, pending);
    if (nameNode.type === 'subscript') {
      // `a[$(cmd)]=x` runs the substitution; the subscript is then evaluated as arithmetic
      this.expression(nameNode, frame, segment);
      const hidden = this.hiddenCommands(nameNode, frame);
      if (hidden.length > 0)
        this.evaluatedCommands(
          hidden,
          nameNode.text,
          this.nodeSpan(frame, nameNode),
          frame,
          segment,
          'an array subscript',
        );
    }
    const produced = this.runSubstitutions(pending, segment);
    const name =
      nameNode.type === 'subscript' ? (nameNode.childForFieldName('name')?.text ?? nameNode.text) : nameNode.text;
    value = this.attributed(name, value, frame, segment);
    this.noteValue(name, value, frame, segment);
    const a: Assignment = {
      name,
      value: value ? plainWord(value) : null,
      span: this.nodeSpan(frame, node),
      segment,
      exported,
    };
    this.assignments.push(a);
    // the variable now holds what the substitutions printed, or what variables it copies held
    const sources = [...produced];
    if (value) for (const m of value.text.matchAll(VARIABLE_REF)) sources.push(...(this.variables.get(m[1]!) ?? []));
    if (sources.length > 0) this.variables.set(name, [...new Set([...(this.variables.get(name) ?? []), ...sources])]);
    return a;
  }

  /** An assignment written as one word (`env A=1 cmd`, or one tree-sitter did not recognize). */
  protected wordAssignment(w: WordEx, frame: Frame, segment: number | null, exported: boolean): Assignment {
    const eq = w.text.indexOf('=');
    const name = w.text.slice(0, eq).replace(/\+$/, '').replace(/\[.*$/s, '');
    const value = this.attributed(
      name,
      { ...w, text: w.text.slice(eq + 1), exact: w.exact === null ? null : w.exact + eq + 1 },
      frame,
      segment,
    )!;
    const a: Assignment = { name, value: plainWord(value), span: w.span, segment, exported };
    this.assignments.push(a);
    this.noteValue(name, value, frame, segment);
    return a;
  }

  /**
   * The value of `NAME=value` as bash assigns it: everything after the `=` (tree-sitter may leave
   * escaped characters out of its value node: `x=\ a` is " a"), neither brace- nor
   * pathname-expanded, with a tilde expanded at its start and after each `:`.
   */
  protected assignmentValue(
    node: SyntaxNode,
    valueNode: SyntaxNode | null,
    frame: Frame,
    pending: PendingSubstitution[],
  ): WordEx | null {
    const children = node.children;
    const eq = children.findIndex((c) => !c.isNamed && (c.type === '=' || c.type === '+='));
    if (eq === -1) return valueNode ? { ...this.decode(valueNode, frame, pending), glob: false } : null;
    const nodes = [...children.slice(eq), ...this.takeTails(node)];
    if (nodes.length === 1 && node.endIndex === nodes[0]!.endIndex) {
      // `x=`: the empty string
      return {
        text: '',
        dynamic: false,
        glob: false,
        span: this.nodeSpan(frame, nodes[0]!),
        exact: null,
        substituted: false,
      };
    }
    const { atoms, span, substituted } = this.atomsOf(nodes, frame, pending);
    // escapes after the last value node are part of the value (`x=''\(`, `x=$''\$`)
    const last = nodes[nodes.length - 1]!;
    const end = Math.max(node.endIndex, last.endIndex);
    if (end > last.endIndex) atoms.push(...unquotedText(frame.text.slice(last.endIndex, end)));
    const escaped = /^(?:\\[^\n])+/.exec(frame.text.slice(end));
    if (escaped) atoms.push(...unquotedText(escaped[0]));
    const value = atoms.slice(nodes[0]!.text.length);
    const text = atomsText(value);
    const opaque = value.some((a) => a.k === 'o') || danglingExpansion(value);
    const tilde = hasTildeExpansion(value, true);
    const start = nodes[0]!.endIndex;
    const exact = opaque || tilde ? null : this.verbatimAt(frame, start, text.length);
    return {
      text,
      dynamic: opaque || tilde,
      glob: false,
      span,
      exact: exact !== null && frame.text.slice(start, start + text.length) === text ? exact : null,
      substituted,
    };
  }

  /**
   * What a value assigned to a variable means beyond the assignment: a command line some
   * program runs (`PAGER=`, `GIT_SSH_COMMAND=`), a prompt string whose substitutions run when it
   * is shown (`PS4` under `set -x`), and the static value `${x@P}` may evaluate later.
   */
  protected noteValue(name: string, value: WordEx | null, frame: Frame, owner: number | null): void {
    if (value && !value.dynamic) this.values.set(name, value.text);
    else this.values.delete(name);
    if (!value) return;
    // `x='a[$(id)]'`: wherever bash evaluates x as arithmetic ((( x )), [[ x -eq 0 ]], ${!x},
    // declare -i) the subscript runs: the command is treated as run
    if (!value.dynamic && SUBSCRIPT_COMMAND.test(value.text))
      this.evaluatedText(
        value.text,
        value.span,
        frame,
        owner,
        `the value of ${name} (an array subscript, run when the value is evaluated)`,
      );
    if (COMMAND_VARIABLES.has(name)) this.commandString(value, frame, owner, 'shell', 'variable');
    else if (PROMPT_VARIABLES.has(name)) {
      for (const command of embeddedCommands(value.text))
        this.parseText(command, { ...this.textFrame(frame, value.span, 'variable', owner ?? 0), parent: owner });
    }
  }

  /**
   * `declare`, `local`, `export`, `readonly`, `typeset`, `unset`: a segment whose words are the
   * arguments; `NAME=value` arguments (quoted or not) are assignments, and names with a
   * subscript are evaluated as arithmetic.
   */
  protected declaration(node: SyntaxNode, frame: Frame): number[] {
    const keyword = node.child(0);
    if (!keyword) return [];
    const pending: PendingSubstitution[] = [];
    const name: WordEx = {
      text: keyword.text,
      dynamic: false,
      glob: false,
      span: this.nodeSpan(frame, keyword),
      exact: this.verbatimAt(frame, keyword.startIndex, keyword.text.length),
      substituted: false,
    };
    const children = node.namedChildren;
    const exported = keyword.text === 'export' || children.some((c) => /^-[a-zA-Z]*x/.test(c.text));
    const id = this.newSegment([name], frame, this.nodeSpan(frame, node), [], [], null);
    const seg = this.segments[id]!;
    const assignable = keyword.text !== 'unset';
    // one word may be several nodes: those touching an assignment are the rest of its value
    // (`declare x=f]\(`), as in command()
    const runs: SyntaxNode[][] = [];
    for (const c of children) {
      const run = runs[runs.length - 1];
      if (run && c.type !== 'comment' && sameWord(run[run.length - 1]!, c, frame.text)) run.push(c);
      else runs.push([c]);
    }
    if (assignable) {
      const declared = children.map((c) =>
        (c.type === 'variable_assignment'
          ? (c.childForFieldName('name')?.text ?? '')
          : (/^[A-Za-z_][A-Za-z0-9_]*/.exec(c.text)?.[0] ?? '')
        ).replace(/\[.*$/s, ''),
      );
      this.declareAttributes(
        children.map((c) => c.text),
        declared.filter((n) => n !== ''),
      );
    }
    for (const run of runs) {
      const c = run[0]!;
      // `declare x={a,b}` is `declare x=a x=b`: brace expansion happens before declare sees its words
      const braces = run.some((n) => /(?:^|[^$])\{/.test(n.text));
      if (c.type === 'variable_assignment' && assignable && !braces) {
        if (run.length > 1) this.tails.set(c.id, run.slice(1));
        const a = this.assignment(c, frame, id, exported);
        const nameText = c.childForFieldName('name')?.text ?? '';
        const op = c.text.slice(nameText.length).startsWith('+=') ? '+=' : '=';
        const v = a?.value;
        seg.argv.push({
          text: `${nameText}${op}${v?.text ?? ''}`,
          dynamic: v?.dynamic ?? false,
          glob: false,
          span: this.nodeSpan(frame, c),
          exact: null,
          substituted: false,
        });
        if (a) seg.assignments.push(a);
        continue;
      }
      for (const w of this.words(run, frame, pending)) {
        seg.argv.push(w);
        if (/^[-+]/.test(w.text)) continue;
        const m = /^([A-Za-z_][A-Za-z0-9_]*)(\[[\s\S]*\])?(\+?=)?/.exec(w.text);
        if (!m) continue;
        // a run-time value after a literal `NAME=` (`export x={1..3}$x`) is a dynamic assignment
        if (w.dynamic && !m[3]) continue;
        if (m[2])
          this.evaluatedName(seg, seg.argv.length - 1, w.text.slice(0, m[1]!.length + m[2].length), keyword.text);
        if (!m[3] || !assignable) continue;
        // `declare "PATH=./bin"`: an assignment written as a quoted word
        const eq = m[0].length;
        const value = this.attributed(
          m[1]!,
          { ...w, text: w.text.slice(eq), exact: w.exact === null ? null : w.exact + eq },
          frame,
          id,
        )!;
        const a: Assignment = { name: m[1]!, value: plainWord(value), span: w.span, segment: id, exported };
        this.assignments.push(a);
        seg.assignments.push(a);
        this.noteValue(a.name, value, frame, id);
      }
    }
    this.runSubstitutions(pending, id);
    this.variableFlows(seg.argv, id);
    return [id];
  }
}
