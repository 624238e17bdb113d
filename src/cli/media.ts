import { MediaCheckReportSchema } from '../guests/report-schema.js';
import { UserError } from '../errors.js';
import { osById } from '../guests/catalog.js';
import { checkMedia, type MediaCheck } from '../guests/media-check.js';
import { summarizeMedia } from '../guests/media.js';
import { thisMachine } from '../host/open.js';
import { writeOut, writeText } from '../ui/output.js';
import { jsonText, shown, shownLines } from '../ui/escape.js';

/** Exit statuses of `media check` (docs/guests.md): scripts branch on them. */
export const MEDIA_EXIT = { BOOTABLE: 0, NOT_BOOTABLE: 1, BAD_INPUT: 2 } as const;

function exitOf(c: MediaCheck): number {
  if (c.report.verdict === 'unreadable') return MEDIA_EXIT.BAD_INPUT;
  return c.bootable ? MEDIA_EXIT.BOOTABLE : MEDIA_EXIT.NOT_BOOTABLE;
}

function text(c: MediaCheck): string {
  const r = c.report;
  if (r.verdict === 'unreadable') return `${shownLines(r.reason)}.\n`;
  const lines: string[] = [];
  if (r.verdict === 'guest-disk') {
    lines.push(`${shown(r.path)}: a qcow2 disk image (a guest hard disk: use it with create --disk, not as a CD).`);
    if (c.inside) lines.push(`Inside: ${summarizeMedia(c.inside).replace(`${shown(r.path)}: `, '')}`);
  } else lines.push(summarizeMedia(r));
  lines.push(
    c.bootable
      ? `Verdict: bootable — a blessed Mac volume that a PowerPC Mac (and QEMU mac99) can start from.`
      : r.verdict === 'mac-boot-disc' || c.inside?.verdict === 'mac-boot-disc'
        ? 'Verdict: a Mac volume, but not bootable: no blessed System folder (a data disc, or a disk Mac OS is not installed on).'
        : 'Verdict: not a PowerPC Mac boot disc.',
  );
  if (c.system?.productVersion) lines.push(`System: ${shown(c.system.productName ?? 'Mac OS X')} ${shown(c.system.productVersion)}${c.system.build ? ` (build ${shown(c.system.build)})` : ''}.`);
  else if (c.systemNote && (r.verdict === 'mac-boot-disc' || r.verdict === 'guest-disk')) lines.push(`System version: ${c.systemNote}.`);
  if (c.looksLike) lines.push(`Looks like ${osById(c.looksLike).title}: ${c.why}. Create a guest for it: talos-mac create NAME --os ${c.looksLike} --cdrom ${shown(JSON.stringify(r.path))}`);
  return lines.join('\n') + '\n';
}

export async function mediaCommand(action: string, file: string, f: { json?: boolean }): Promise<number> {
  if (action !== 'check') throw new UserError(`unknown media action ${JSON.stringify(action)}: use check`);
  const c = await checkMedia(thisMachine(), file);
  if (f.json) {
    writeOut(jsonText(MediaCheckReportSchema.parse({ ...c.report, bootable: c.bootable, ...(c.inside ? { inside: c.inside } : {}), ...(c.system ? { system: c.system } : {}), ...(c.systemNote ? { systemNote: c.systemNote } : {}), looksLike: c.looksLike ?? null, why: c.why, exit: exitOf(c) })) + '\n');
  } else writeText(text(c));
  return exitOf(c);
}
