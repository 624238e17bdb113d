/** netatalk's afpd as the AFP live share (src/launch/live-share.ts) and doctor's guests.live-share check see it. */

/** Where Debian's netatalk puts afpd: /usr/sbin, which is not on a user's PATH there (login.defs ENV_PATH). */
export const AFPD_DIRS = ['/usr/sbin', '/sbin'] as const;

export interface AfpdVersion {
  /** netatalk's version, e.g. "4.2.3". */
  version: string;
  /** The AFP versions it speaks, e.g. ["2.2", "3.4"]. */
  afp: string[];
}

/** `afpd -V`'s first line ("afpd 4.2.3 - Apple Filing Protocol (AFP) daemon of Netatalk") and its "AFP versions:" line. */
export function parseAfpdVersion(text: string): AfpdVersion | undefined {
  const version = /^afpd (\d+\.\d+(?:\.\d+)?)/m.exec(text)?.[1];
  if (version === undefined) return undefined;
  return { version, afp: (/AFP versions:\s*(.*)$/m.exec(text)?.[1] ?? '').trim().split(/\s+/).filter(Boolean) };
}

/**
 * Whether an afpd is one talos-mac's AFP share runs: one that lists AFP 2.2, the version Mac OS 9's
 * AppleShare client speaks over TCP (netatalk 4.2.3 lists 1.1 to 3.4; the only one proven here).
 */
export function afpdProblem(v: AfpdVersion | undefined): string | undefined {
  if (v === undefined) return "afpd -V did not say its version: talos-mac's AFP live share needs netatalk 4's afpd";
  if (!v.afp.includes('2.2')) return `afpd (netatalk ${v.version}) does not list AFP 2.2 (it lists ${v.afp.join(', ') || 'none'}), the version Mac OS 9's AppleShare client speaks`;
  return undefined;
}

/** Debian's netatalk package also enables its system service (an afpd for every user on port 548); talos-mac does not use it. */
export const NETATALK_SERVICE_NOTE = "Debian's netatalk package also starts its own AFP server for every user on port 548 (netatalk.service), which talos-mac does not use: sudo systemctl disable --now netatalk turns it off.";

