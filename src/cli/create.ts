import { writeOut } from '../ui/output.js';
import { createGuest, type CreateOptions } from '../guests/create.js';
import { MEDIA_IMAGE_HINT } from '../guests/catalog.js';
import { guestOs } from '../guests/definition.js';
import { GuestStore } from '../guests/store.js';
import { thisMachine } from '../host/open.js';
import { EXIT } from '../exit-codes.js';

export async function createCommand(name: string, opts: CreateOptions): Promise<number> {
  const store = new GuestStore();
  const confirmRaw = process.stdin.isTTY
    ? async (path: string) => {
        const { confirm } = await import('@inquirer/prompts');
        return confirm({ message: `${JSON.stringify(path)} has no disk image header: use it as a raw disk image (QEMU writes to it)?`, default: false });
      }
    : undefined;
  const { guest, file, createdDisk } = await createGuest(store, thisMachine(), name, { ...opts, confirmRaw });
  const os = guestOs(guest);
  const lines = [
    `Created ${guest.name}: ${os.title}, ${guest.ram} MiB`,
    `  definition  ${file}`,
    `  disk        ${guest.disk} (${guest.disk_format}${createdDisk ? ', new' : ', existing'})`,
    ...(guest.cdrom ? [`  CD          ${guest.cdrom}`] : []),
    ...os.notes.map((n) => `  note: ${n}`),
    ...(guest.cdrom || !createdDisk ? [] : [`  install media: ${os.installMedia}`, `  ${MEDIA_IMAGE_HINT}`, `  Then add cdrom = "/path/to/disc.iso" to ${file}.`]),
    guest.cdrom ? `Next: talos-mac launch ${guest.name} --install` : `Next: talos-mac launch ${guest.name}`,
  ];
  writeOut(lines.join('\n') + '\n');
  return EXIT.OK;
}
