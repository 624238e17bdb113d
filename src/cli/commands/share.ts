import { defineCommand } from '../command.js';
import type { ShareFlags } from '../share.js';

export default defineCommand<ShareFlags>({
  name: 'share',
  summary: 'share a folder with a guest as a read-only HFS+ CD, attached at its next launch',
  args: [
    { name: '<name>', help: 'guest name (see talos-mac list)', value: 'guest' },
    { name: '[dir]', help: 'the folder to share (its contents as they are now)', value: 'dir' },
  ],
  options: [
    { flags: '--refresh', help: 'build the CD again from the same folder (after changing it)' },
    { flags: '--off', help: 'stop sharing: detach the CD at the next launch and delete its image' },
    { flags: '--label <name>', help: 'the CD name the guest shows (default: the folder name; at most 27 characters)' },
    { flags: '--live', help: 'instead of a CD: the folder read and written by the guest while it runs (WebDAV for Mac OS X, AFP for Mac OS 9), from its next launch; with --off: stop' },
    { flags: '--protocol <afp|webdav>', help: 'with --live, for Mac OS X: AFP (netatalk 4) instead of WebDAV', words: ['afp', 'webdav'] },
    { flags: '--json', help: 'with NAME alone: what is shared, as JSON (talos-mac/schema ShareReportSchema)' },
  ],
  examples: [
    ['talos-mac share tiger ~/for-tiger', 'the folder as a CD "for-tiger" at the next launch'],
    ['talos-mac share tiger --refresh', 'after changing the folder'],
    ['talos-mac share tiger', 'what is shared'],
    ['talos-mac share tiger --off'],
    ['talos-mac share tiger ~/exchange --live', 'read-write while tiger runs: Finder, Go → Connect to Server, http://10.0.2.100/'],
    ['talos-mac share tiger ~/exchange --live --protocol afp', 'the same over AFP: afp://10.0.2.100/'],
    ['talos-mac share os9 ~/exchange --live', 'Mac OS 9: Chooser, AppleShare, Server IP Address… 10.0.2.100'],
    ['talos-mac share tiger --live --off'],
  ],
  notes: `The image ($XDG_DATA_HOME/talos-mac/NAME-share.iso) is built with xorriso: HFS+ with an Apple
partition map, and ISO 9660. Refused: special files, links out of the folder or to folders, files
over 4 GiB. To get files back out of the guest: talos-mac files NAME get. A live share is served
by rclone serve webdav (or netatalk 4's afpd) on 127.0.0.1 with a password made for each launch
(shown by launch and status); the guest reaches it at 10.0.2.100 through QEMU's user network
(docs/guests.md).`,
  jsonSchema: 'ShareReportSchema',
  exits: { OK: 'done', FAILED: 'xorriso or rclone failed, or another share of the guest is running', USAGE: 'usage error (no such guest, a folder that cannot be shared): nothing was changed' },
  async run({ args, opts }) {
    const { shareCommand } = await import('../share.js');
    return shareCommand(args[0] as string, args[1] as string | undefined, opts);
  },
});
