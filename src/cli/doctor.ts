import { readLikeSetup, runDoctor, selectChecks } from '../doctor/doctor.js';
import type { Host } from '../host/host.js';
import { openHost } from '../host/open.js';
import { EXIT } from '../exit-codes.js';
import { UserError } from '../errors.js';
import { VERSION } from '../version.js';
import { writeErrText, writeOut, writeText } from '../ui/output.js';

export interface DoctorOptions {
  json?: boolean;
  verbose?: boolean;
  quiet?: boolean;
  strict?: boolean;
  listChecks?: boolean;
  snapshot?: string;
  collect?: string;
}

const write = writeOut;

export async function doctorCommand(ids: string[], opts: DoctorOptions): Promise<number> {
  const notes: string[] = [];
  const steps = selectChecks(ids, notes);
  for (const n of notes) writeErrText(`note: ${n}\n`);
  if (opts.listChecks) {
    if (opts.json) {
      write(JSON.stringify(steps.map(({ id, category, title, severity }) => ({ id, category, title, severity })), null, 2) + '\n');
    } else {
      const { renderCheckList } = await import('../doctor/render.js');
      writeText(renderCheckList(steps));
    }
    return EXIT.OK;
  }
  if (opts.snapshot && opts.collect) throw new UserError('--snapshot and --collect cannot be combined: collect from the live host, diagnose a snapshot.');
  if (opts.verbose && opts.quiet) throw new UserError('-v and -q cannot be combined.');

  let host: Host = await openHost(opts.snapshot ? { snapshot: opts.snapshot } : {});
  let desktop = host.desktop;
  let recorder: import('../host/recording-host.js').RecordingHost | undefined;
  if (!opts.snapshot) {
    desktop = (await import('../launch/plan.js')).hasDesktop(process.env);
    if (opts.collect) {
      const { RecordingHost } = await import('../host/recording-host.js');
      await RecordingHost.prepareTarget(opts.collect);
      recorder = new RecordingHost(host);
      host = recorder;
    }
  }

  // Doctor answers as launch will: a window needs a desktop session (launch/plan.ts hasDesktop);
  // a snapshot answers for the session that collected it.
  const report = await runDoctor(host, steps, opts.strict ?? false, desktop);
  if (recorder && opts.collect) {
    await readLikeSetup(recorder, (await import('../host/user.js')).currentUserName());
    await recorder.save(opts.collect, `talos-mac ${VERSION}`, { desktop });
  }

  if (opts.json) {
    const { DoctorReportSchema } = await import('../doctor/report-schema.js');
    write(JSON.stringify(DoctorReportSchema.parse(report), null, 2) + '\n');
  } else {
    const [{ renderDoctor }, { makeChalk }] = await Promise.all([import('../doctor/render.js'), import('../ui/color.js')]);
    writeText(renderDoctor(report, await makeChalk(), { verbose: opts.verbose ?? false, quiet: opts.quiet ?? false }));
    if (opts.collect) writeText(`\nSnapshot written to ${opts.collect}: attach it to a bug report, or run talos-mac doctor --snapshot ${opts.collect}\n`);
  }
  if (opts.collect && opts.json) writeErrText(`snapshot written to ${opts.collect}\n`);
  return report.ok ? EXIT.OK : EXIT.FAILED;
}
