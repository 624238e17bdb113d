import { defineCommand } from '../command.js';

export default defineCommand<{ force?: boolean; json?: boolean }>({
  name: 'screenshot',
  summary: "save a running guest's screen as a PNG (QMP screendump)",
  args: [
    { name: '<name>', help: 'guest name (see talos-mac list)', value: 'guest' },
    { name: '[file]', help: 'where to save it, ending in .png (default: NAME-YYYYmmdd-HHMMSS.png here)', value: 'path' },
  ],
  options: [
    { flags: '--force', help: 'replace FILE if it exists' },
    { flags: '--json', help: 'print the file and its size as JSON (talos-mac/schema ScreenshotReportSchema)' },
  ],
  examples: [
    ['talos-mac screenshot tiger', 'tiger-20260101-120000.png in this folder'],
    ['talos-mac screenshot tiger ~/shots/boot.png'],
    ['talos-mac screenshot tiger boot.png --force', 'replace boot.png'],
  ],
  exits: { OK: 'saved', FAILED: 'the guest is not running (or QEMU could not)', USAGE: 'usage error (FILE exists, not .png)' },
  jsonSchema: 'ScreenshotReportSchema',
  async run({ args, opts }) {
    const { screenshotCommand } = await import('../screenshot.js');
    return screenshotCommand(args[0] as string, args[1] as string | undefined, opts);
  },
});
