/**
 * Interpreter one-liners (`python -c`, `perl -e`, `awk '…'`, …) are scanned for the obvious:
 * what the code can do (capabilities) and the shell command lines it hands to the system, which
 * the walker then parses as nested segments. Anything subtler stays opaque: the payload text is
 * kept so rules can match it, and a reviewer sees it.
 */
import { RE2JS } from 're2js';
import { shellQuote } from '../util/quote.js';

/**
 * The patterns here run on code an attacker writes (up to the gate's size limit), so they run
 * on RE2 (re2js): linear time, however long the text. A backtracking engine took seconds on one
 * long awk word.
 */
function linear(source: string): Linear {
  // compiled on first use: most commands run no interpreter, and compiling every pattern
  // when the module loads cost each start-up some 30 ms
  let re: RE2JS | null = null;
  const get = (): RE2JS => (re ??= RE2JS.compile(source));
  return { test: (text) => get().test(text), matcher: (text) => get().matcher(text) };
}

interface Linear {
  test(text: string): boolean;
  matcher(text: string): ReturnType<RE2JS['matcher']>;
}

/** Every match's groups (null where a group did not take part), left to right. */
function* matches(re: Linear, text: string): Generator<(string | null)[]> {
  const m = re.matcher(text);
  while (m.find()) {
    const groups: (string | null)[] = [];
    for (let g = 0; g <= m.groupCount(); g++) groups.push(m.group(g));
    yield groups;
  }
}

export type Capability =
  | 'exec'
  | 'shell'
  | 'network'
  | 'listen'
  | 'fd-dup'
  | 'pty'
  | 'delete'
  | 'read'
  | 'write'
  | 'decode'
  | 'eval'
  | 'env'
  | 'setuid';

const CAPABILITY_PATTERNS: ReadonlyArray<readonly [Capability, Linear]> = (
  [
    [
      'exec',
      new RegExp(
        String.raw`\b(?:os\.(?:system|popen|exec\w*|spawn\w*|startfile)|subprocess\b|commands\.getoutput|` +
          String.raw`pty\.spawn|system\s*\(|system\s+["'` +
          '`' +
          String.raw`]|exec\s*\(|exec\s+["'` +
          '`' +
          String.raw`/]|shell_exec|passthru|proc_open|` +
          String.raw`popen|pcntl_exec|child_process|execSync|execFileSync|spawnSync|spawn\s*\(|os\.execute|io\.popen|` +
          String.raw`Runtime\.getRuntime\(\)\.exec|ProcessBuilder|Process\.Start|IO\.popen|Kernel\.(?:system|exec|` +
          String.raw`spawn)|callCommand|run-shell-command|shell-command|\brun\s*\(\s*` +
          '`' +
          String.raw`|%x\{|\bqx[{(/]|\bspawn\s+\S)`,
      ),
    ],
    ['exec', /`[^`]*`/],
    // tcl `exec $cmd`, awk coprocesses `cmd |& getline`
    ['exec', /\bexec\s+\$\w|\w+\s*\|&\s*getline/],
    ['shell', /(?:\/bin\/|\b)(?:ba|z|da|k|c|tc)?sh\b(?:["'\s;)]|$)|\bcmd(?:\.exe)?\s*\/c\b|\/bin\/sh|\/bin\/bash/],
    [
      'network',
      new RegExp(
        String.raw`\b(?:socket|Socket|connect\s*\(|fsockopen|TCPSocket|TCPServer|UDPSocket|IO::Socket|Net::|LWP|` +
          String.raw`HTTP::|urlopen|urllib|requests\.|http\.client|httplib|http\.get|https\.get|http\.request|` +
          String.raw`net\.connect|net\.createConnection|require\(\s*['"](?:net|http|https|dgram|tls)['"]|fetch\s*\(|` +
          String.raw`XMLHttpRequest|curl_exec|curl_init|file_get_contents\s*\(\s*["']https?:|` +
          String.raw`fopen\s*\(\s*["']https?:|open-uri|URI\.open|java\.net\.|ftplib|smtplib|paramiko|websocket)`,
      ),
    ],
    ['network', /["'](?:https?|ftp|gopher|ws|wss):\/\/|\/inet\/(?:tcp|udp)\/|\bnew\s+URL\s*\(|\bdownload\s*\(/],
    [
      'read',
      new RegExp(
        String.raw`\bopen\s*\(|createReadStream|readFile|file_get_contents|File\.read|IO\.read|io\.open|` +
          String.raw`\bfopen\s*\(|Files\.read|\bslurp\b|\.read_text\s*\(|\.read_bytes\s*\(`,
      ),
    ],
    ['listen', /\b(?:bind|listen|accept|createServer|TCPServer|ServerSocket|stream_socket_server)\s*\(/],
    [
      'fd-dup',
      new RegExp(
        String.raw`\bdup2?\s*\(|\bfileno\s*\(|[0-2]?<&\s*\d|>&\s*\d|\bIO\.(?:for_fd|new)\s*\(\s*\d|` +
          String.raw`redirectErrorStream|STDIN->fdopen|open\s*\(\s*STD(?:IN|OUT|ERR)\s*,\s*["'][<>]&`,
      ),
    ],
    ['pty', /\bpty\.spawn|\bopenpty\b|\bforkpty\b|\bPTY\.spawn/],
    [
      'delete',
      new RegExp(
        String.raw`\b(?:shutil\.rmtree|os\.(?:remove|unlink|rmdir|removedirs)|rmtree|unlink\s*\(|rm_rf|rm_r\b|` +
          String.raw`FileUtils\.rm|fs\.(?:rm|rmdir|unlink)(?:Sync)?\s*\(|File\.delete|remove_dir_all|` +
          String.raw`Path\([^)]*\)\.unlink|os\.remove)|\.(?:rmSync|rmdirSync|unlinkSync|unlink)\s*\(|\)\.(?:rm|` +
          String.raw`rmdir)\s*\(`,
      ),
    ],
    [
      'write',
      new RegExp(
        String.raw`\bopen\s*\([^)]*,\s*["'][wa]b?\+?["']|file_put_contents|File\.(?:write|open\([^)]*["'][wa])|` +
          String.raw`fs\.(?:write|append)File|createWriteStream|FileOutputStream|copy_stream|urlretrieve|` +
          String.raw`\bdownload\s*\(|\bcp\s*\(\s*["']https?:|io\.open\s*\([^)]*["'][wa]|write_text|write_bytes|` +
          String.raw`>>?\s*["'$]`,
      ),
    ],
    [
      'decode',
      new RegExp(
        String.raw`\b(?:b64decode|base64\.decodebytes|decode_base64|base64_decode|atob\s*\(|` +
          String.raw`Buffer\.from\s*\([^)]*base64|unpack\s*\(\s*["']m|codecs\.decode|zlib\.decompress|gzinflate|` +
          String.raw`str_rot13|fromCharCode|unhexlify|bytes\.fromhex|\.decode\s*\(\s*["'](?:hex|base64|rot13))`,
      ),
    ],
    // eval called, or passed on as a function (`.then(eval)`, `(0, eval)(s)`, `globalThis['eval']`)
    [
      'eval',
      new RegExp(
        String.raw`\b(?:eval|exec|compile|assert)\s*\(\s*(?:[^"'\s]|$)|\.then\s*\(\s*(?:eval|Function)\b|` +
          String.raw`\(\s*0\s*,\s*eval\s*\)|\[\s*["'](?:eval|Function)["']\s*\]|\bFunction\s*\(|instance_eval|` +
          String.raw`class_eval|\bload\s*\(\s*["']|loadstring|require\s*\(\s*[a-z_]\w*\s*\)|__import__`,
      ),
    ],
    ['env', /\bos\.environ|\bprocess\.env|\bENV\s*\[|\bgetenv\s*\(|\$ENV\{|\bSystem\.getenv/],
    [
      'setuid',
      new RegExp(
        String.raw`\b(?:os\.set(?:e|re|res)?uid|set(?:e|re|res)?uid\s*\(|POSIX::setuid|Process::Sys\.setuid|` +
          String.raw`posix_setuid|process\.setuid|Process\.uid\s*=|\$<\s*=|\$>\s*=)`,
      ),
    ],
  ] as const satisfies ReadonlyArray<readonly [Capability, RegExp]>
).map(([capability, re]) => [capability, linear(re.source)] as const);

export function scanCapabilities(code: string): Capability[] {
  const found = new Set<Capability>();
  for (const [capability, pattern] of CAPABILITY_PATTERNS) {
    if (!found.has(capability) && pattern.test(code)) found.add(capability);
  }
  return [...found];
}

function unescapeLiteral(body: string): string {
  return body.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|.)/gs, (_m, esc: string) => {
    if (esc.length > 1 && (esc[0] === 'x' || esc[0] === 'u')) return String.fromCharCode(parseInt(esc.slice(1), 16));
    switch (esc) {
      case 'n':
        return '\n';
      case 't':
        return '\t';
      default:
        return esc;
    }
  });
}

const STRING =
  String.raw`(?:"((?:\\.|[^"\\])*)"|'((?:\\.|[^'\\])*)'|` +
  '`' +
  String.raw`((?:\\.|[^` +
  '`' +
  String.raw`\\])*)` +
  '`' +
  ')';
const EXEC_CALL = linear(
  String.raw`(?:os\.(?:system|popen|exec[lv]p?e?)|subprocess\.(?:call|run|Popen|check_output|check_call|` +
    String.raw`getoutput|getstatusoutput)|commands\.getoutput|pty\.spawn|\bsystem|\bexec|shell_exec|passthru|` +
    String.raw`\bpopen|proc_open|pcntl_exec|execSync|execFileSync|execFile|spawnSync|\bspawn|os\.execute|io\.popen|` +
    String.raw`IO\.popen|Kernel\.(?:system|exec|spawn)|getRuntime\(\)\.exec|ProcessBuilder|Process\.Start|` +
    String.raw`callCommand|run-shell-command|shell-command|\bterm)` +
    String.raw`\s*(?:\(\s*)?(?:\[\s*|\{\s*|(?:array|Array|List\.of)\s*\(\s*)?` +
    STRING +
    String.raw`((?:\s*,\s*` +
    STRING +
    ')*)',
);
const TRAILING_STRINGS = linear(String.raw`\s*,\s*` + STRING);
const BACKTICKS = linear(/(?:^|[^\w$])`([^`]+)`|%x\{([^}]*)\}|\bqx\{([^}]*)\}|\bqx\(([^)]*)\)/.source);
// `"cmd" | getline`, `print | "cmd"`, and gawk's coprocesses `"cmd" |& getline`, `print |& "cmd"`
const AWK_PIPES = linear(/"([^"]+)"\s*\|&?\s*getline|\|&?\s*"([^"]+)"/.source);
const SPAWN_WORD = linear(/\bspawn\s+([^;}\n]+)/.source);
const APPLESCRIPT = linear(/\bdo (?:shell )?script\s+"((?:\\.|[^"\\])*)"/.source);
const M4_SYSCMD = linear(/\besyscmd\s*\(([^)]*)\)|\bsyscmd\s*\(([^)]*)\)/.source);
const JULIA_RUN = linear(/run\s*\(\s*`([^`]*)`/.source);
const RPM_SHELL = linear(/%\(([^)]*)\)/.source);
const MAKE_SHELL = linear(/\$\(shell\s+([^)]*)\)/.source);
const TEX_WRITE18 = linear(/\\(?:immediate\\)?write18\s*\{([^}]*)\}/.source);

/**
 * The shell command lines a piece of interpreter code hands to the system, when they are string
 * literals: `os.system("rm -rf /")`, `system("/bin/sh")`, `subprocess.call(["rm", "-rf", "/"])`,
 * `` `id` ``, `exec "/bin/sh"`. List forms are joined into one command line.
 */
export function extractCommandLines(code: string, language: string): string[] {
  const lines: string[] = [];
  for (const m of matches(EXEC_CALL, code)) {
    const first = unescapeLiteral(m[1] ?? m[2] ?? m[3] ?? '');
    const rest = m[4] ?? '';
    const words = [first];
    for (const r of matches(TRAILING_STRINGS, rest)) words.push(unescapeLiteral(r[1] ?? r[2] ?? r[3] ?? ''));
    // a list form (argv) is quoted word by word; a single string is already a command line
    lines.push(words.length > 1 ? words.map(shellQuote).join(' ') : first);
  }
  if (language === 'perl' || language === 'ruby' || language === 'php') {
    for (const m of matches(BACKTICKS, code)) lines.push(m[1] ?? m[2] ?? m[3] ?? m[4] ?? '');
  }
  if (language === 'awk') {
    for (const m of matches(AWK_PIPES, code)) lines.push(m[1] ?? m[2] ?? '');
  }
  if (language === 'tcl') {
    for (const m of matches(SPAWN_WORD, code)) lines.push(m[1] ?? '');
  }
  if (language === 'applescript') {
    for (const m of matches(APPLESCRIPT, code)) lines.push(unescapeLiteral(m[1] ?? ''));
  }
  if (language === 'm4') {
    for (const m of matches(M4_SYSCMD, code)) lines.push(m[1] ?? m[2] ?? '');
  }
  if (language === 'julia') {
    for (const m of matches(JULIA_RUN, code)) lines.push(m[1] ?? '');
  }
  return lines.map((l) => l.trim()).filter((l) => l.length > 0);
}

/** Vim's `|`-separated commands: a `|` starts one where `:`, `!`, `sh`, `shell` or `term` follows. */
function vimCommands(text: string): string[] {
  const parts: string[] = [];
  let from = 0;
  for (let bar = text.indexOf('|'); bar !== -1; bar = text.indexOf('|', bar + 1)) {
    let k = bar + 1;
    while (k < text.length && /\s/.test(text[k]!)) k++;
    if (/^(?::|!|sh\b|shell\b|term)/.test(text.slice(k, k + 8))) {
      parts.push(text.slice(from, bar));
      from = bar + 1;
    }
  }
  parts.push(text.slice(from));
  return parts;
}

/**
 * Shell escapes inside another program's language: vim's `:!cmd`, `:shell`, `:terminal`; the
 * `!cmd` / `\! cmd` / `.shell cmd` / `system cmd` of debuggers, SQL shells and mailers; rpm's
 * `%(cmd)`; make's `$(shell cmd)`; TeX's `\write18{cmd}`.
 */
export function extractEscapes(text: string, syntax: 'vim' | 'bang' | 'rpm' | 'make' | 'tex'): string[] {
  const out: string[] = [];
  switch (syntax) {
    case 'vim': {
      for (const part of vimCommands(text)) {
        const p = part.replace(/^\s*:?\s*/, '');
        let m: RegExpMatchArray | null;
        if ((m = p.match(/^!\s*(.+)$/s))) out.push(m[1]!);
        else if (/^sh(?:ell)?\s*$/.test(p)) out.push('sh');
        else if ((m = p.match(/^term(?:inal)?(?:\s+(.*))?$/s))) out.push(m[1]?.trim() || 'sh');
        else if ((m = p.match(/^(?:py3?|python3?|lua|perl|ruby|rub)\s+(.*)$/s)))
          out.push(`python3 -c ${shellQuote(m[1]!)}`);
        else if ((m = p.match(/^call\s+system\s*\(\s*["'](.*)["']\s*\)/s))) out.push(m[1]!);
      }
      break;
    }
    case 'bang': {
      const m = text.match(/^\s*(?:\\!|!|\.shell\s|\.system\s|system\s|shell\s)\s*(.*)$/s);
      if (m && m[1]!.trim()) out.push(m[1]!);
      break;
    }
    case 'rpm':
      for (const m of matches(RPM_SHELL, text)) out.push(m[1]!);
      break;
    case 'make':
      for (const m of matches(MAKE_SHELL, text)) out.push(m[1]!);
      break;
    case 'tex':
      for (const m of matches(TEX_WRITE18, text)) out.push(m[1]!);
      break;
  }
  return out.map((l) => l.trim()).filter((l) => l.length > 0);
}
