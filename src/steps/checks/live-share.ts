import { installHint } from '../../distro/distro.js';
import { AFPD_DIRS, afpdProblem, NETATALK_SERVICE_NOTE, parseAfpdVersion } from '../../parse/afpd.js';
import type { Step } from '../step.js';
import { EXTRA_FLAGS, extraWanted, onPath, qemuPackages } from './qemu-packages.js';

/**
 * The servers of `share --live` (src/launch/live-share.ts): rclone for WebDAV (Mac OS X), netatalk 4's
 * afpd for AFP (Mac OS 9, which has no WebDAV client). Only reports: guests run without them; setup
 * installs rclone with QEMU (qemu.packages: asked, --with-live-share / --without-live-share), and
 * never netatalk: Debian's package also enables a system-wide AFP server (netatalk.service).
 */
export const liveShareServers: Step = {
  id: 'guests.live-share',
  category: 'QEMU',
  title: "Have the live share's servers (WebDAV, AFP)",
  severity: 'info',
  // A getter: qemu-packages.ts imports this check (an import cycle read only when asked).
  get fixedBy() {
    return qemuPackages;
  },
  async verify(ctx) {
    const { facts } = ctx;
    // Looked up through facts as the other tools are, so that doctor --collect records the answer and a snapshot replays it.
    const [onRclone, onAfpd] = [await onPath(facts, 'rclone'), await onPath(facts, 'afpd')];
    if ('unknown' in onRclone) return { state: 'unknown', summary: onRclone.unknown };
    if ('unknown' in onAfpd) return { state: 'unknown', summary: onAfpd.unknown };
    const webdav = onRclone.found;
    // Debian's afpd is in /usr/sbin, not on a user's PATH: asked there too (a snapshot made before it says nothing: not there).
    let afpdArgv: string[] | undefined = onAfpd.found ? ['afpd', '-V'] : undefined;
    for (const dir of AFPD_DIRS) {
      if (afpdArgv) break;
      const t = await facts.command(['test', '-x', `${dir}/afpd`]);
      if (!t.notRecorded && !t.timedOut && t.exitCode === 0) afpdArgv = [`${dir}/afpd`, '-V'];
    }
    const none = { stdout: '', stderr: '' };
    const [rclone, afpd] = [webdav ? await facts.command(['rclone', 'version']) : none, afpdArgv ? await facts.command(afpdArgv) : none];
    const d = await facts.distro();
    const evidence = [rclone.stdout.split('\n')[0] ?? '', (afpd.stdout || afpd.stderr).split('\n')[0] ?? ''].filter(Boolean);
    const version = parseAfpdVersion(`${afpd.stdout}${afpd.stderr}`);
    const tooOld = afpdArgv ? afpdProblem(version) : undefined;
    const afpHint = installHint(d, [d.names.liveShare?.afp]);
    const os9 = afpdArgv
      ? tooOld
        ? `${tooOld}: Mac OS 9 guests have no live share (talos-mac share makes a read-only CD)`
        : `AFP live share for Mac OS 9 guests (and Mac OS X with --protocol afp): netatalk ${version!.version}'s afpd`
      : d.names.liveShare?.afp
        ? `no afpd: Mac OS 9 guests have no live share (AFP; install netatalk 4${afpHint ? `: ${afpHint}` : ''}. ${NETATALK_SERVICE_NOTE})`
        : `${d.name} has no netatalk 4 package (AFP, the only file sharing Mac OS 9 speaks): Mac OS 9 guests use talos-mac share (a read-only CD)`;
    if (webdav) return { state: 'done', summary: `WebDAV live share for Mac OS X guests: ${rclone.stdout.split('\n')[0]}; ${os9}`, evidence };
    const hint = installHint(d, [d.names.liveShare?.webdav]);
    return {
      state: 'todo',
      summary: `no rclone: Mac OS X guests have no live share (talos-mac share NAME DIR --live serves WebDAV with it); ${os9}`,
      fix: { text: hint ? `For a live share with Mac OS X guests: ${hint}` : 'For a live share with Mac OS X guests, install rclone (its serve webdav).' },
      evidence,
      ...(extraWanted('live-share', ctx) ? {} : { onlyWith: EXTRA_FLAGS['live-share'].with }),
    };
  },
};
