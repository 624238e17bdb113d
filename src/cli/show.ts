import { ShowReportSchema } from '../guests/report-schema.js';
import { writeOut, writeText } from '../ui/output.js';
import { jsonText, shown } from '../ui/escape.js';
import { MEDIA_IMAGE_HINT, untagged, VIA_INPUT } from '../guests/catalog.js';
import { guestOs } from '../guests/definition.js';
import { GuestStore } from '../guests/store.js';
import { EXIT } from '../exit-codes.js';

export async function showCommand(name: string, opts: { json?: boolean; verbose?: boolean }): Promise<number> {
  const store = new GuestStore();
  const g = await store.read(name);
  const os = guestOs(g);
  if (opts.json) {
    writeOut(jsonText(ShowReportSchema.parse({ ...g, file: store.file(name), osTitle: os.title, installMedia: untagged(os.installMedia) })) + '\n');
    return EXIT.OK;
  }
  const rows: Array<[string, string]> = [
    ['OS', os.title],
    ['RAM', `${g.ram} MiB`],
    ['CPU', g.cpu !== undefined ? shown(g.cpu) : `default (${os.tcg.defaultCpu} under TCG${os.kvm.works ? `, ${os.kvm.defaultCpu} under KVM-PR` : ''})`],
    ['KVM-PR', os.kvm.works ? `yes: ${os.kvm.note}` : `no: ${os.kvm.note}`],
    ['Disk', `${shown(g.disk)} (${shown(g.disk_format)})`],
    ['CD', g.cdrom !== undefined ? shown(g.cdrom) : 'none'],
    ...(g.share !== undefined ? [['Shared', `${shown(g.share_from ?? '?')} (as a read-only CD)`] as [string, string]] : []),
    ['Network', `${g.net}${g.net === 'none' ? '' : `, ${g.nic ?? os.nics[0]}`}`],
    ['Display', `${g.resolution}${g.display !== undefined ? `, shown with ${shown(g.display)} (launch without --display)` : ''}`],
    ['Input', `${VIA_INPUT[os.via]}${os.pointer === 'usb-tablet' ? ' + USB tablet' : ', no tablet (the mouse is grabbed)'}`],
    ['Definition', store.file(name)],
  ];
  // The catalog's evidence (what rests on inference, and the basis of each input choice, tagged) is for -v.
  const evidence = opts.verbose ? [...os.inferred.map((n) => `  inferred: ${n}`), ...os.input.map((n) => `  input: ${n}`)] : [];
  const media = opts.verbose ? os.installMedia : untagged(os.installMedia);
  const lines = [`${g.name}`, ...rows.map(([k, v]) => `  ${k.padEnd(10)}  ${v}`), ...os.notes.map((n) => `  note: ${untagged(n)}`), ...evidence, `  install media: ${media}`, `  ${MEDIA_IMAGE_HINT}`];
  writeText(lines.join('\n') + '\n');
  return EXIT.OK;
}
