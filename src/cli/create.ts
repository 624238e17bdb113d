import { writeOut, writeText } from '../ui/output.js';
import { jsonText } from '../ui/escape.js';
import { CreateReportSchema, type CreateReport } from '../guests/report-schema.js';
import { createGuest, type CreateOptions } from '../guests/create.js';
import { MEDIA_IMAGE_HINT, untagged } from '../guests/catalog.js';
import { guestOs } from '../guests/definition.js';
import { GuestStore } from '../guests/store.js';
import { thisMachine } from '../host/open.js';
import { EXIT } from '../exit-codes.js';

export type CreateFlags = Omit<CreateOptions, 'confirmRaw'> & { json?: boolean };

export async function createCommand(name: string, { json, ...opts }: CreateFlags): Promise<number> {
  const store = new GuestStore();
  const confirmRaw = process.stdin.isTTY && !json
    ? async (path: string) => {
        const { confirm } = await import('@inquirer/prompts');
        return confirm({ message: `${JSON.stringify(path)} has no disk image header: use it as a raw disk image (QEMU writes to it)?`, default: false });
      }
    : undefined;
  const { guest, file, createdDisk, warning } = await createGuest(store, thisMachine(), name, { ...opts, confirmRaw });
  const os = guestOs(guest);
  const next = guest.cdrom
    ? `talos-mac launch ${guest.name} --install`
    : createdDisk
      ? `talos-mac set ${guest.name} --cdrom FILE  then  talos-mac launch ${guest.name} --install`
      : `talos-mac launch ${guest.name}`;
  const lines = [
    `Created ${guest.name}: ${os.title}, ${guest.ram} MiB`,
    `  definition  ${file}`,
    `  disk        ${guest.disk} (${guest.disk_format}${createdDisk ? ', new' : ', existing'})`,
    ...(guest.cdrom ? [`  CD          ${guest.cdrom}`] : []),
    ...os.notes.map((n) => `  note: ${n}`),
    ...(warning ? [`  warning: ${warning}`] : []),
    ...(guest.cdrom || !createdDisk ? [] : [`  install media: ${untagged(os.installMedia)}`, `  ${MEDIA_IMAGE_HINT}`]),
    guest.cdrom || !createdDisk ? `Next: ${next}` : `Next: give it an install disc, then boot it: ${next}`,
  ];
  if (json) {
    const doc: CreateReport = {
      schema: 'talos-mac/create@1',
      name: guest.name,
      os: guest.os,
      osTitle: os.title,
      ramMb: guest.ram,
      disk: guest.disk,
      diskFormat: guest.disk_format,
      createdDisk,
      cdrom: guest.cdrom ?? null,
      file,
      next,
    };
    writeOut(jsonText(CreateReportSchema.parse(doc)) + '\n');
    return EXIT.OK;
  }
  writeText(lines.join('\n') + '\n');
  return EXIT.OK;
}
