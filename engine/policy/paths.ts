/**
 * Paths as a rule sees them: `$HOME` written as `~`, duplicate slashes and `.`/`..` resolved
 * lexically, `~user` as that user's home, `/proc/PID/root/x` as `/x`, so `//etc/../etc/shadow`,
 * `~/../alice`, `/proc/self/root/etc/shadow` and `"$HOME"/.ssh/id_rsa` meet the patterns written
 * for them. Glob patterns: `*` within a path segment, `**` across segments, `?`, `[…]`, `{a,b}`.
 * A pattern that starts with `/` or `~` is anchored; any other pattern matches a trailing part
 * of the path (`.env` matches `config/.env` and `/srv/app/.env`). Globs run on RE2 (linear time,
 * see regex.ts): paths are text an attacker writes.
 */
import { climbsAbove } from '../shell/text.js';
import { compileRegex, type Tester } from './regex.js';

export interface PathContext {
  /** The working directory of the command, for relative paths. */
  readonly cwd?: string | undefined;
  /** The home directory, so `/home/alice/.ssh` also reads as `~/.ssh`. */
  readonly home?: string | undefined;
  /**
   * The project the command works in (projectRoot): its root, null when there is none (the
   * working directory is a home or system directory), undefined when not known.
   */
  readonly project?: string | null | undefined;
}

/** Directories that are never a project, nor anything below them (etckeeper's /etc included). */
const NOT_PROJECTS =
  /^\/(?:$|(?:etc|usr|bin|sbin|lib|lib32|lib64|libx32|boot|dev|proc|sys|run|var)(?:\/|$)|(?:home|Users|tmp|private\/tmp)\/?$|root\/?$)/;

/**
 * The project a working directory belongs to: the nearest directory at or above it holding
 * `.git`, else the directory itself — null for `/`, a home directory, or a system directory
 * (nothing there is the project's own to delete). `exists` is the file-system probe.
 */
export function projectRoot(cwd: string, home: string | undefined, exists: (path: string) => boolean): string | null {
  const start = normalizePath(cwd);
  if (!start.startsWith('/')) return null;
  let root = start;
  for (let dir = start; ;) {
    if (exists(`${dir === '/' ? '' : dir}/.git`)) {
      root = dir;
      break;
    }
    const up = dir.slice(0, dir.lastIndexOf('/')) || '/';
    if (up === dir) break;
    dir = up;
  }
  const h = home?.replace(/\/+$/, '');
  if (NOT_PROJECTS.test(root) || root === h || (h !== undefined && h !== '' && h.startsWith(`${root}/`))) return null;
  return root;
}

/**
 * Is the path outside the project? Relative paths resolve against the working directory; with
 * no project known, an absolute or home path is outside and a relative one only when it climbs
 * above where it starts; with no project at all, every path is.
 */
export function outsideProject(text: string, ctx: PathContext): boolean {
  const forms = pathForms(text, ctx);
  const absolute = forms.find((f) => f.startsWith('/'));
  const inHome = forms.find((f) => f.startsWith('~'));
  if (ctx.project === null) return true;
  if (ctx.project === undefined || (absolute === undefined && inHome === undefined)) {
    if (absolute !== undefined || inHome !== undefined) return true;
    return climbsAbove(normalizePath(text));
  }
  const root = ctx.project.replace(/\/+$/, '') || '/';
  const under = (p: string, r: string): boolean => p === r || p.startsWith(r === '/' ? '/' : `${r}/`);
  if (absolute !== undefined) return !under(absolute, root);
  // a home path with the home directory unknown: compare in the `~` form
  const rootInHome = pathForms(root, ctx).find((f) => f.startsWith('~'));
  return rootInHome === undefined || !under(inHome!, rootInHome);
}

/** Where `~` stands when the home directory is not known: two levels down, like /home/USER. */
const SOME_HOME = '/home/~';

export function normalizePath(text: string): string {
  let p = text.replace(/^(?:\$\{HOME\}|\$HOME)(?=\/|$)/, '~');
  if (p === '') return p;
  // another user's home: ~root is /root, ~alice is /home/alice (where most systems keep it)
  const user = /^~([A-Za-z_][A-Za-z0-9_.-]*)(?=\/|$)/.exec(p);
  if (user) p = (user[1] === 'root' ? '/root' : `/home/${user[1]}`) + p.slice(user[0].length);
  // going above the home directory leaves `~`: resolve it against where homes are
  if (/^~(?:\/|$)/.test(p) && climbsAbove(p.slice(1))) p = SOME_HOME + p.slice(1);
  // a process's root directory is the filesystem root (in this namespace); /dev/fd is /proc/self/fd
  p = p.replace(/^\/+proc\/+(?:\d+|self|thread-self)\/+root(?=\/|$)/, '') || '/';
  p = p.replace(/^\/+dev\/+fd(?=\/|$)/, '/proc/self/fd');
  const absolute = p.startsWith('/');
  const parts = p.split('/');
  const out: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (part === '' || part === '.') {
      if (i === 0 && !absolute && part === '.') continue;
      continue;
    }
    if (part === '..') {
      const last = out[out.length - 1];
      if (last !== undefined && last !== '..' && !(out.length === 1 && last.startsWith('~'))) out.pop();
      else if (!absolute) out.push('..');
      continue;
    }
    out.push(part);
  }
  p = (absolute ? '/' : '') + out.join('/');
  if (p.startsWith(SOME_HOME)) p = `~${p.slice(SOME_HOME.length)}`;
  return p === '' ? (absolute ? '/' : '.') : p;
}

/** The forms of a path worth matching: as written, resolved against cwd, with home as `~`. */
export function pathForms(text: string, ctx: PathContext = {}): string[] {
  const forms = new Set<string>();
  // `~+` and /proc/self/cwd are the working directory
  let t = text;
  if (ctx.cwd && /^~\+(?:\/|$)/.test(t)) t = `${ctx.cwd}${t.slice(2)}`;
  const procCwd = /^\/+(?:proc\/+(?:self|thread-self)|dev\/+fd\/+\.\.)\/+cwd(?=\/|$)/.exec(t);
  if (ctx.cwd && procCwd) t = `${ctx.cwd}${t.slice(procCwd[0].length)}`;
  const p = normalizePath(t);
  forms.add(p);
  let absolute: string | null = p.startsWith('/') ? p : null;
  if (!absolute && ctx.cwd && !p.startsWith('~')) {
    const resolved = normalizePath(`${ctx.cwd}/${p}`);
    if (resolved.startsWith('/')) absolute = resolved;
    else forms.add(resolved); // under `cd ~/x`: ~/x/file
  }
  if (absolute) {
    forms.add(absolute);
    const home = ctx.home?.replace(/\/+$/, '');
    if (home && home !== '/' && (absolute === home || absolute.startsWith(`${home}/`)))
      forms.add(`~${absolute.slice(home.length)}`);
    // /root is root's home: treat it like ~ for the patterns written with ~
    if (absolute === '/root' || absolute.startsWith('/root/')) forms.add(`~${absolute.slice(5)}`);
    const user = absolute.match(/^\/(?:home|Users)\/[^/]+(\/.*)?$/);
    if (user) forms.add(`~${user[1] ?? ''}`);
  }
  return [...forms];
}

function escapeRegex(ch: string): string {
  return ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function globBody(glob: string): string {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        // `**/` matches zero or more whole segments; a trailing `**` anything below
        if (glob[i + 2] === '/') {
          re += '(?:[^/]*/)*';
          i += 2;
        } else {
          re += '.*';
          i += 1;
        }
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end === -1) re += '\\[';
      else {
        let cls = glob.slice(i + 1, end);
        if (cls.startsWith('!')) cls = `^${cls.slice(1)}`;
        re += `[${cls.replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else if (c === '{') {
      const end = glob.indexOf('}', i + 1);
      if (end === -1) re += '\\{';
      else {
        re += `(?:${glob
          .slice(i + 1, end)
          .split(',')
          .map(globBody)
          .join('|')})`;
        i = end;
      }
    } else re += escapeRegex(c);
  }
  return re;
}

/**
 * The regular expression (source) a glob stands for: anchored at the start when the glob is
 * (`/…`, `~…`), else matching a trailing part of a path (`(?:^|/)…`).
 */
export function globSource(glob: string): string {
  let g = glob.length > 1 ? glob.replace(/\/+$/, '') : glob;
  // `dir/**` covers the directory itself too
  const below = g.length > 3 && g.endsWith('/**');
  if (below) g = g.slice(0, -3);
  const anchored = g.startsWith('/') || g.startsWith('~');
  const body = globBody(g) + (below ? '(?:/.*)?' : '');
  return anchored ? `^${body}$` : `(?:^|/)${body}$`;
}

/** A glob (or several, any of which may match) compiled once, on RE2. */
export function compileGlob(...globs: string[]): Tester {
  return compileGlobs(globs, false);
}

/**
 * Several globs, any of which may match. Each is tried only when the text holds the glob's
 * longest literal part (every matching path does), and with `lazy` its regex is compiled on
 * that first try: a warm start compiles the few globs a command's words come near, not the
 * hundreds a policy names (a cold load compiles them all, which validates them).
 */
export function compileGlobs(globs: readonly string[], lazy: boolean): Tester {
  const parts = globs.map((g) => {
    const source = globSource(g);
    let re: Tester | null = lazy ? null : compileRegex(source);
    return { needle: literalPart(g), test: (text: string) => (re ??= compileRegex(source)).test(text) };
  });
  return { test: (text) => parts.some((p) => text.includes(p.needle) && p.test(text)) };
}

/** The longest run of a glob that every path it matches holds verbatim. */
function literalPart(glob: string): string {
  let g = glob.length > 1 ? glob.replace(/\/+$/, '') : glob;
  if (g.length > 3 && g.endsWith('/**')) g = g.slice(0, -3);
  let best = '';
  let run = '';
  for (let i = 0; i < g.length; i++) {
    const c = g[i]!;
    if (c === '[' || c === '{') {
      const end = g.indexOf(c === '[' ? ']' : '}', i + 1);
      if (end !== -1) i = end;
      run = '';
    } else if (c === '*' || c === '?' || c === '\\' || c === ']' || c === '}') {
      // `**/` stands for any number of directories, none too: its slash may be absent
      if (c === '*' && g[i + 1] === '*' && g[i + 2] === '/') i += 2;
      run = '';
    } else {
      run += c;
      if (run.length > best.length) best = run;
    }
  }
  return best;
}

/** A glob matched from the start of the text (program names, redirect targets). */
export function compilePrefixGlob(glob: string): Tester {
  return compileRegex(
    `^${globSource(glob)
      .replace(/^\(\?:\^\|\/\)/, '')
      .replace(/^\^/, '')}`,
  );
}

export function matchesAnyForm(regexes: readonly Tester[], text: string, ctx: PathContext): boolean {
  const forms = pathForms(text, ctx);
  for (const re of regexes) for (const f of forms) if (re.test(f)) return true;
  return false;
}
