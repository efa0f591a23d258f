/**
 * Text bash evaluates at run time although it was quoted: an array subscript, an arithmetic
 * operand, a prompt string. Command substitutions in it run, so each becomes nested segments and
 * an `evaluated-code` issue. And the builtins whose arguments are variable names or arithmetic
 * (`read NAME`, `printf -v NAME`, `let EXPR`, `test -v NAME`): what they evaluate and assign.
 */
import type { SyntaxNode } from 'tree-sitter';
import { embeddedCommands } from './decode.js';
import type { Assignment, Span } from './ir.js';
import { escapeForDisplay } from './text.js';
import { walkTree } from './tree-sitter.js';
import { WalkState, type Frame, type PendingSubstitution, type SegmentDraft } from './walk-state.js';

/**
 * Arithmetic over constants only (no variable, no expansion, no subscript): what bash evaluates
 * it to does not depend on anything at run time.
 */
export function constantArithmetic(text: string): boolean {
  return /^[\s0-9+\-*/%()<>=!&|^~?:,]*$/.test(text.replace(/\b0[xX][0-9a-fA-F]+\b/g, '0'));
}

/** `[[ a -eq b ]]`: both operands are arithmetic expressions. */
const ARITHMETIC_TESTS = new Set(['-eq', '-ne', '-lt', '-le', '-gt', '-ge']);

export abstract class EvaluatedText extends WalkState {
  /**
   * Text that bash evaluates at run time although it was quoted (an array subscript, an
   * arithmetic operand, a prompt string): command substitutions in it run. Each becomes nested
   * segments and an `evaluated-code` issue. Returns whether there were any.
   */
  protected evaluatedText(text: string, span: Span, frame: Frame, owner: number | null, what: string): boolean {
    const commands = embeddedCommands(text);
    if (commands.length === 0) return false;
    this.evaluatedCommands(commands, text, span, frame, owner, what);
    return true;
  }

  protected evaluatedCommands(
    commands: readonly string[],
    text: string,
    span: Span,
    frame: Frame,
    owner: number | null,
    what: string,
  ): void {
    this.issue(
      'evaluated-code',
      `${what} evaluates ${JSON.stringify(escapeForDisplay(text.slice(0, 60)))} at run time, running the command in it`,
      span,
    );
    for (const command of commands) {
      const ids = this.parseText(command, {
        ...this.textFrame(frame, span, 'substitution', owner ?? 0),
        parent: owner ?? frame.parent,
        depth: frame.depth,
      });
      if (owner !== null) for (const id of ids) this.flow(id, owner, 'substitution');
    }
  }

  protected markDynamic(seg: SegmentDraft, index: number): void {
    const w = seg.argv[index];
    if (w && !w.dynamic) seg.argv[index] = { ...w, dynamic: true, exact: null };
  }

  /**
   * A variable name a builtin assigns or tests (`printf -v NAME`, `read NAME`, `test -v NAME`):
   * a subscript other than a literal index is arithmetic evaluated at run time.
   */
  protected evaluatedName(seg: SegmentDraft, index: number, name: string, builtin: string): void {
    const m = /^[A-Za-z_][A-Za-z0-9_]*(?:\[([\s\S]*)\])?$/.exec(name);
    const subscript = m ? m[1] : name;
    if (subscript === undefined || /^\s*\d+\s*$/.test(subscript)) return;
    this.markDynamic(seg, index);
    this.evaluatedText(
      subscript,
      seg.argv[index]!.span,
      this.frames.get(seg.id)!,
      seg.id,
      `${builtin} (an array subscript)`,
    );
  }

  /**
   * An expansion that evaluates text: `$(( … ))` runs substitutions tree-sitter took for quoted
   * text; `${x@P}` prompt-expands the value of x, running the substitutions in it.
   */
  protected evaluatedExpansion(node: SyntaxNode, frame: Frame, pending: PendingSubstitution[]): void {
    const span = this.nodeSpan(frame, node);
    if (node.type === 'arithmetic_expansion') {
      for (const text of this.hiddenCommands(node, frame))
        pending.push({ text, span, frame, evaluated: 'an arithmetic expansion' });
      return;
    }
    // `${a['$(id)']}`: the subscript of an indexed array is arithmetic, quotes and all
    const subscript = /^\$\{[#!]?[A-Za-z_][A-Za-z0-9_]*\[([^\]]*)\]/.exec(node.text)?.[1];
    if (subscript !== undefined) {
      if (/['"]/.test(subscript))
        for (const text of embeddedCommands(subscript))
          pending.push({ text, span, frame, evaluated: `the subscript of ${node.text}` });
      return;
    }
    const name = /^\$\{([A-Za-z_][A-Za-z0-9_]*)/.exec(node.text)?.[1];
    const value = name === undefined ? undefined : this.values.get(name);
    const commands = value === undefined ? [] : embeddedCommands(value);
    if (commands.length === 0) {
      this.issue(
        'evaluated-code',
        `${escapeForDisplay(node.text)} expands a value as a prompt string, running the command substitutions in it`,
        span,
      );
      return;
    }
    for (const text of commands) pending.push({ text, span, frame, evaluated: `the prompt expansion ${node.text}` });
  }

  /**
   * Substitutions in an arithmetic expression that tree-sitter did not parse as such: bash
   * expands `$(…)` there even inside quotes (`$(( '$(id)' ))`), tree-sitter reads a string.
   */
  protected hiddenCommands(node: SyntaxNode, frame: Frame): string[] {
    let text = node.text;
    // the substitutions tree-sitter did parse are read as such: blanked here
    const cut = walkTree(node.namedChildren, (c) => {
      if (c.type !== 'command_substitution' && c.type !== 'process_substitution') return c.namedChildren;
      const from = c.startIndex - node.startIndex;
      text = text.slice(0, from) + ' '.repeat(c.endIndex - c.startIndex) + text.slice(c.endIndex - node.startIndex);
      return [];
    });
    if (cut) this.tooDeep(this.nodeSpan(frame, cut));
    return embeddedCommands(text);
  }

  /** An operand bash evaluates as an arithmetic expression: static only over constants. */
  protected evaluatedArith(seg: SegmentDraft, index: number, builtin: string): void {
    const w = seg.argv[index];
    if (!w || w.dynamic || constantArithmetic(w.text)) return;
    this.markDynamic(seg, index);
    this.evaluatedText(w.text, w.span, this.frames.get(seg.id)!, seg.id, `${builtin} (arithmetic)`);
  }

  /** A variable a builtin assigns from data only known at run time (`read NAME`, `printf -v NAME`). */
  protected runtimeAssignment(seg: SegmentDraft, index: number, builtin: string): void {
    const w = seg.argv[index];
    if (!w) return;
    this.evaluatedName(seg, index, w.text, builtin);
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(w.text)?.[0];
    if (!name) return;
    const a: Assignment = {
      name,
      value: { text: `<${builtin}>`, dynamic: true, glob: false, span: w.span },
      span: w.span,
      segment: seg.id,
      exported: false,
    };
    seg.assignments.push(a);
    this.assignments.push(a);
    this.values.delete(name);
  }

  /**
   * Builtins whose arguments are names or arithmetic: what they evaluate and assign. Option
   * grammars follow bash's own (`help read`, `help printf`, …).
   */
  protected builtinArguments(seg: SegmentDraft): void {
    const argv = seg.argv;
    const program = seg.program;
    const operands = (valueOptions: string): number[] => {
      // indexes of the operands after options (a bundle's last letter may take the next word)
      const out: number[] = [];
      let options = true;
      for (let i = 1; i < argv.length; i++) {
        const t = argv[i]!.text;
        if (options && t === '--') {
          options = false;
          continue;
        }
        if (options && /^-[A-Za-z]/.test(t) && !argv[i]!.dynamic) {
          const letters = t.slice(1);
          for (let k = 0; k < letters.length; k++) {
            if (valueOptions.includes(letters[k]!)) {
              if (k === letters.length - 1) i++;
              break;
            }
          }
          continue;
        }
        options = false;
        out.push(i);
      }
      return out;
    };
    const optionValue = (letter: string): number | null => {
      for (let i = 1; i < argv.length; i++) {
        const t = argv[i]!.text;
        if (t === '--' || !t.startsWith('-')) return null;
        if (t === `-${letter}`) return i + 1 < argv.length ? i + 1 : null;
      }
      return null;
    };
    switch (program) {
      case 'test':
      case '[':
      case '[[': {
        for (let i = 1; i < argv.length; i++) {
          const t = argv[i]!.text;
          if (t === '-v' && argv[i + 1] && !argv[i + 1]!.dynamic)
            this.evaluatedName(seg, i + 1, argv[i + 1]!.text, program);
          if (program === '[[' && ARITHMETIC_TESTS.has(t)) {
            this.evaluatedArith(seg, i - 1, program);
            this.evaluatedArith(seg, i + 1, program);
          }
        }
        return;
      }
      case 'printf': {
        const v = optionValue('v');
        if (v !== null) this.runtimeAssignment(seg, v, 'printf -v');
        return;
      }
      case 'read':
        for (const i of operands('adinNptu')) this.runtimeAssignment(seg, i, 'read');
        if (argv.some((w) => /^-[A-Za-z]*a$/.test(w.text))) {
          const a = optionValue('a');
          if (a !== null) this.runtimeAssignment(seg, a, 'read -a');
        }
        return;
      case 'mapfile':
      case 'readarray': {
        const names = operands('dnOsuCc');
        if (names.length > 0) this.runtimeAssignment(seg, names[names.length - 1]!, program);
        return;
      }
      case 'getopts': {
        const names = operands('');
        if (names.length >= 2) this.runtimeAssignment(seg, names[1]!, 'getopts');
        return;
      }
      case 'let':
        for (let i = 1; i < argv.length; i++) this.evaluatedArith(seg, i, 'let');
        return;
      case 'wait': {
        const p = optionValue('p');
        if (p !== null) this.runtimeAssignment(seg, p, 'wait -p');
        return;
      }
      default:
        return;
    }
  }
}
