import { writeOut, writeText } from '../ui/output.js';
import { jsonText, shown } from '../ui/escape.js';
import { guestOs } from '../guests/definition.js';
import { GuestStore } from '../guests/store.js';
import { thisMachine } from '../host/open.js';
import { findRunning } from '../launch/running.js';
import { EXIT } from '../exit-codes.js';
import { GuestListSchema } from '../guests/report-schema.js';

export async function listCommand(opts: { json?: boolean }): Promise<number> {
  const store = new GuestStore();
  const host = thisMachine();
  const rows = await Promise.all(
    (await store.list()).map(async (e) => ({ ...e, running: (await findRunning(host, store.paths, { name: e.name, disk: e.guest?.disk, disk_format: e.guest?.disk_format })) !== undefined })),
  );
  // One code for one condition, with or without --json (README "Exit codes").
  const invalid = rows.some((r) => !r.guest) ? EXIT.FAILED : EXIT.OK;
  if (opts.json) {
    const doc = rows.map((r) => (r.guest ? { ...r.guest, file: store.file(r.name), running: r.running, valid: true } : { name: r.name, file: store.file(r.name), valid: false, problem: r.problem }));
    writeOut(jsonText(GuestListSchema.parse(doc)) + '\n');
    return invalid;
  }
  if (rows.length === 0) {
    writeText(`No guests yet. Create one: talos-mac create tiger --os tiger --cdrom tiger.iso   (or try: talos-mac demo)\n`);
    return EXIT.OK;
  }
  const w = Math.max(4, ...rows.map((r) => r.name.length));
  const lines = [`${'NAME'.padEnd(w)}  ${'OS'.padEnd(24)}  ${'RAM'.padStart(9)}  STATE`];
  for (const r of rows) {
    if (!r.guest) lines.push(`${r.name.padEnd(w)}  INVALID: ${shown(r.problem?.split('\n').slice(0, 2).join(' ') ?? '')}`);
    else lines.push(`${r.name.padEnd(w)}  ${guestOs(r.guest).title.padEnd(24)}  ${`${r.guest.ram} MiB`.padStart(9)}  ${r.running ? 'running' : 'stopped'}`);
  }
  writeText(lines.join('\n') + '\n');
  return invalid;
}
