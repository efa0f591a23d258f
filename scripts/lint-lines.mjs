// Fails when a source line is longer than 140 characters (prettier wraps code at 120 but
// leaves long strings and comments alone). Usage: node scripts/lint-lines.mjs
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const LIMIT = 140;
const files = execFileSync(
  'git',
  ['ls-files', '--cached', '--others', '--exclude-standard', '*.ts', '*.mts', '*.mjs', '*.cjs'],
  {
    encoding: 'utf8',
  },
)
  .split('\n')
  .filter((f) => f && !f.startsWith('engine/policy/generated/'));
let long = 0;
for (const file of files) {
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line.length > LIMIT) {
        long++;
        if (long <= 50) console.error(`${file}:${i + 1}: ${line.length} characters (limit ${LIMIT})`);
      }
    });
}
if (long > 0) {
  console.error(`${long} line(s) over ${LIMIT} characters`);
  process.exit(1);
}
