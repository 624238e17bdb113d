import { parse, stringify, TomlError } from 'smol-toml';
import { UserError } from '../errors.js';
import { MAC99_MAX_RAM_MB, MIN_RAM_MB, OS_CATALOG } from './catalog.js';
import { describeIssues, guestOs, GuestSchema, NICS, type Guest } from './definition.js';

const q = (v: unknown): string => stringify({ v }).slice(4).trim();

/** The definition as a commented TOML file a person can edit; `parseDefinition` reads it back. */
export function renderDefinition(g: Guest): string {
  const os = guestOs(g);
  const opt = (key: string, value: string | undefined, example: string): string => (value === undefined ? `# ${key} = ${q(example)}` : `${key} = ${q(value)}`);
  return [
    `# talos-mac guest "${g.name}": edit freely, talos-mac checks this file every time it reads it.`,
    `# Start it: talos-mac launch ${g.name}    Show the QEMU command: talos-mac launch ${g.name} --print-cmd`,
    `# Change it with talos-mac set ${g.name} (e.g. --cdrom FILE, --ram 1024): that keeps your comments.`,
    '',
    `name = ${q(g.name)}`,
    `# ${os.title}. One of: ${OS_CATALOG.map((o) => o.id).join(', ')} (codenames such as tiger work too).`,
    `os = ${q(g.os)}`,
    `# RAM in MiB, ${MIN_RAM_MB}–${MAC99_MAX_RAM_MB} (mac99 supports at most 2 GiB).`,
    `ram = ${g.ram}`,
    `# CPU. Leave out for the default (${os.tcg.defaultCpu} under TCG${os.kvm.works ? `, ${os.kvm.defaultCpu} under KVM-PR` : ''}).`,
    `# TCG: ${os.tcg.cpus.join(', ')}.${os.kvm.works ? ` KVM-PR: ${os.kvm.cpus.join(', ')} only.` : ' KVM-PR: does not boot this OS.'}`,
    opt('cpu', g.cpu, os.kvm.works ? os.kvm.defaultCpu : os.tcg.defaultCpu),
    '# The hard disk image and its format (talos-mac never overwrites it).',
    `disk = ${q(g.disk)}`,
    `disk_format = ${q(g.disk_format)}`,
    '# An installer CD or DVD image: booted by talos-mac launch --install (and when the disk is still empty).',
    opt('cdrom', g.cdrom, '/path/to/install.iso'),
    '# Network: "user" (NAT, no setup), "none", or "tap:IFACE" for an existing tap device.',
    `net = ${q(g.net)}`,
    `# Network card: ${NICS.join(' or ')}. Leave out for the default (${os.nics[0]}).`,
    opt('nic', g.nic, os.nics[0] ?? 'sungem'),
    '# Firmware screen size: WIDTHxHEIGHT or WIDTHxHEIGHTxDEPTH (depth 8, 15 or 32).',
    `resolution = ${q(g.resolution)}`,
    '# How talos-mac launch shows the screen without --display: auto, window, vnc, vnc=HOST:N, serial or none.',
    opt('display', g.display, 'auto'),
    '',
  ].join('\n');
}

/** Parses and validates a definition file's text; every problem names the file, the field and what is allowed. */
export function parseDefinition(text: string, file: string, expectedName?: string): Guest {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    const where = err instanceof TomlError ? ` (line ${err.line}, column ${err.column})` : '';
    throw new UserError(`${file} is not valid TOML${where}: ${(err as Error).message.split('\n')[0]}\nFix the file, or remove it and run talos-mac create again.`);
  }
  const parsed = GuestSchema.safeParse(raw);
  if (!parsed.success) throw new UserError(`${file} is not a valid guest definition; nothing was started:\n${describeIssues(parsed.error)}`);
  if (expectedName !== undefined && parsed.data.name !== expectedName) {
    throw new UserError(`${file}: name: ${JSON.stringify(parsed.data.name)} does not match the file name; it must be "${expectedName}" (rename the file to change a guest's name)`);
  }
  return parsed.data;
}

/**
 * `text` with top-level keys set (or removed, for undefined), every other line, comment included,
 * kept as the person wrote it. A key's new line goes where it was, else after its commented example
 * (`# cpu = "g3"`, as renderDefinition writes them), else before the first table or at the end. The result is parsed back and must say exactly what was asked, else nothing
 * is written and the person is told the lines to add.
 */
export function editDefinition(text: string, file: string, changes: Readonly<Record<string, string | number | undefined>>): string {
  const lines = text.split('\n');
  for (const [key, value] of Object.entries(changes)) {
    // Found again for each key: an earlier key's line may have moved it.
    const firstTable = lines.findIndex((l) => /^\s*\[/.test(l));
    const topEnd = firstTable === -1 ? lines.length : firstTable;
    const at = lines.findIndex((l, i) => i < topEnd && new RegExp(`^\\s*${key}\\s*=`).test(l));
    const example = lines.findIndex((l, i) => i < topEnd && new RegExp(`^\\s*#\\s*${key}\\s*=`).test(l));
    const line = value === undefined ? undefined : `${key} = ${q(value)}`;
    if (at !== -1) lines.splice(at, 1, ...(line === undefined ? [] : [line]));
    else if (line !== undefined && example !== -1) lines.splice(example + 1, 0, line);
    else if (line !== undefined) lines.splice(firstTable === -1 ? (lines.at(-1) === '' ? lines.length - 1 : lines.length) : firstTable, 0, line);
  }
  const out = lines.join('\n');
  const before = parseDefinition(text, file) as Record<string, unknown>;
  const after = parseDefinition(out, file) as Record<string, unknown>;
  const expected: Record<string, unknown> = { ...before };
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete expected[key];
    else expected[key] = value;
  }
  if (JSON.stringify(Object.entries(after).sort()) !== JSON.stringify(Object.entries(expected).sort())) {
    const want = Object.entries(changes).map(([k, v]) => (v === undefined ? `remove the ${k} line` : `${k} = ${q(v)}`));
    throw new UserError(`could not update ${file} without touching what you wrote in it; nothing was changed there. Edit it by hand: ${want.join('; ')}`, 1);
  }
  return out;
}
