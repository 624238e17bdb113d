import { defineCommand } from '../command.js';
import type { DoctorOptions } from '../doctor.js';

export default defineCommand<DoctorOptions>({
  name: 'doctor',
  summary: 'diagnose this host for KVM-PR Mac guests (changes nothing)',
  args: [{ name: '[checks...]', help: 'check ids or categories to run (default: all)', value: 'check' }],
  options: [
    { flags: '--json', help: 'print one JSON document (schema: docs/checks.md)' },
    { flags: '-v, --verbose', help: 'show the evidence behind every check' },
    { flags: '-q, --quiet', help: 'show only problems and the verdict' },
    { flags: '--strict', help: 'warnings fail too (exit 1)' },
    { flags: '--list-checks', help: 'list check ids and exit' },
    { flags: '--snapshot <dir>', help: 'diagnose a host snapshot instead of this machine', value: 'dir', conflicts: 'collect' },
    { flags: '--collect <dir>', help: 'also write a snapshot of everything read to <dir> (new or empty)', value: 'dir' },
  ],
  examples: [
    ['talos-mac doctor', 'diagnose this host'],
    ['talos-mac doctor -v', 'with the evidence behind every check'],
    ['talos-mac doctor --json | jq .verdict'],
    ['talos-mac doctor mmu kvm.pr-loaded', 'only the MMU checks and one KVM check'],
    ['talos-mac doctor --collect report/', 'diagnose and save a snapshot for a bug report'],
    ['talos-mac doctor --snapshot report/', 'diagnose a snapshot instead of this host'],
  ],
  notes: 'Check ids: talos-mac doctor --list-checks; docs/checks.md.',
  exits: { OK: 'no check failed (warnings allowed)', FAILED: 'a check failed (or warned, with --strict)', USAGE: 'usage error (an unknown check id, an unusable snapshot)' },
  jsonSchema: 'DoctorReportSchema',
  async run({ args, opts }) {
    const { doctorCommand } = await import('../doctor.js');
    return doctorCommand((args[0] as string[] | undefined) ?? [], opts);
  },
});
