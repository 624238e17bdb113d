import { walkCommands, type CommandSpec } from './command.js';
import { PROGRAM } from './commands/index.js';
import { EXIT, EXIT_TABLE, type ExitMeaning } from '../exit-codes.js';

/** roff text: a leading . or ' would be a request, a backslash an escape (groff(7)). */
const esc = (s: string): string =>
  s
    .replaceAll('\\', '\\e')
    .replaceAll('-', '\\-')
    .replace(/[^\x00-\x7f]/gu, (c) => `\\[u${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}]`)
    .split('\n')
    .map((l) => (/^[.']/.test(l) ? `\\&${l}` : l))
    .join('\n');

function synopsis(path: string[], spec: CommandSpec<any>): string {
  const args = (spec.args ?? []).map((a) => a.name).join(' ');
  return `\\fBtalos\\-mac ${esc(path.join(' '))}\\fR${(spec.options ?? []).some((o) => !o.hidden) ? ' [\\fIoptions\\fR]' : ''}${args ? ` ${esc(args)}` : ''}\n.br`;
}

function section(path: string[], spec: CommandSpec<any>): string {
  const out = [`.SS ${esc(path.join(' '))}`, esc(spec.summary) + '.'];
  for (const a of spec.args ?? []) if (a.help) out.push(`.TP\n.I ${esc(a.name)}\n${esc(a.help)}`);
  for (const o of spec.options ?? []) {
    if (o.hidden) continue;
    const extra = [o.default !== undefined ? `default: ${o.default}` : '', o.choices ? `one of ${o.choices.join(', ')}` : ''].filter(Boolean).join('; ');
    out.push(`.TP\n.B ${esc(o.flags)}\n${esc(o.help)}${extra ? ` (${esc(extra)})` : ''}`);
  }
  if (spec.examples?.length) {
    out.push('.PP\nExamples:\n.RS\n.nf');
    for (const [cmd, comment] of spec.examples) out.push(esc(`$ ${cmd}${comment ? `\n    ${comment.replaceAll('\n', '\n    ')}` : ''}`));
    out.push('.fi\n.RE');
  }
  if (spec.notes) out.push(`.PP\n${esc(spec.notes)}`);
  if (spec.jsonSchema) out.push(`.PP\n\\fB\\-\\-json\\fR follows the zod schema ${esc(spec.jsonSchema)} exported by talos\\-mac/schema.`);
  if (spec.exits) {
    out.push('.PP\nExit status:');
    for (const [k, v] of Object.entries(spec.exits)) out.push(`.TP\n.B ${EXIT[k as ExitMeaning]}\n${esc(v)}`);
  }
  return out.join('\n');
}

/** The manual page (man 7 man macros), from the same command definitions as --help and completion. */
export function manPage(commands: readonly CommandSpec<any>[], version: string): string {
  const all = walkCommands(commands);
  return [
    `.TH TALOS\\-MAC 1 "" "talos\\-mac ${esc(version)}" "User Commands"`,
    '.SH NAME',
    `talos\\-mac \\- ${esc(PROGRAM.summary.replace(/\.$/, ''))}`,
    '.SH SYNOPSIS',
    ...all.filter(([, s]) => s.run).map(([p, s]) => synopsis(p, s)),
    '.SH DESCRIPTION',
    esc(PROGRAM.summary),
    'Every command takes \\fB\\-\\-help\\fR. Paths may start with \\fB~/\\fR; sizes take units (512M, 1G, 20G).',
    '.SH COMMANDS',
    ...all.map(([p, s]) => section(p, s)),
    '.SH EXIT STATUS',
    'The same code for the same condition in every command:',
    ...EXIT_TABLE.map((r) => `.TP\n.B ${r.code}\n${esc(r.meaning)}`),
    '.SH EXAMPLES',
    '.nf',
    ...(PROGRAM.examples as ReadonlyArray<readonly [string, string?]>).map(([c, w]) => esc(`$ ${c}${w ? `\n    ${w}` : ''}`)),
    '.fi',
    '.SH FILES',
    '.TP\n.I $XDG_CONFIG_HOME/talos\\-mac/guests/NAME.toml\nguest definitions',
    '.TP\n.I $XDG_DATA_HOME/talos\\-mac/\nguest disks and shared CDs',
    '.TP\n.I $XDG_STATE_HOME/talos\\-mac/logs/NAME.log\nQEMU\'s messages',
    '.SH SEE ALSO',
    'The README and docs/ of talos\\-mac (docs/guests.md, docs/setup.md, docs/checks.md, docs/kernel.md); \\fBqemu\\-system\\-ppc\\fR(1).',
    '',
  ].join('\n');
}
