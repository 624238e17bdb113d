import * as z from 'zod';
import { canonicalCpu, findOs, MAC99_MAX_RAM_MB, MIN_RAM_MB, OS_CATALOG, osById, type OsEntry } from './catalog.js';
import { GUEST_NAME } from './names.js';

export const DISK_FORMATS = ['qcow2', 'raw', 'vmdk', 'vdi', 'vhdx', 'vpc'] as const;
export const NICS = ['sungem', 'rtl8139'] as const;
/** OpenBIOS framebuffer: WIDTHxHEIGHT[xDEPTH], depth 8, 15 or 32 (ppc_core99_init(), hw/ppc/mac_newworld.c). */
export const RESOLUTION = /^(\d{3,4})x(\d{3,4})(?:x(8|15|32))?$/;
export const TAP_IFACE = /^tap:[A-Za-z0-9_.-]{1,15}$/;
/** How launch shows the screen when its --display is not given (src/cli/launch.ts parseDisplay reads it). */
export const DISPLAY_MODE = /^(?:auto|window|serial|none|vnc(?:=\S+)?)$/;

const absolutePath = (what: string) =>
  z.string({ error: `${what} must be a quoted path` }).refine((p) => p.startsWith('/'), { error: `${what} must be an absolute path (starting with /)` });

/** A guest definition file ($XDG_CONFIG_HOME/talos-mac/guests/NAME.toml), checked on every read. */
export const GuestSchema = z
  .object({
    name: z.string().regex(GUEST_NAME, { error: 'letters, digits, ".", "_", "-" (starting with a letter or digit), at most 63' }),
    os: z
      .string({ error: `one of: ${OS_CATALOG.map((o) => o.id).join(', ')}` })
      .transform((v, ctx) => {
        const os = findOs(v);
        if (!os) {
          ctx.issues.push({ code: 'custom', input: v, message: `unknown OS ${JSON.stringify(v)}: use one of ${OS_CATALOG.map((o) => o.id).join(', ')} (or a codename such as tiger)` });
          return z.NEVER;
        }
        return os.id;
      }),
    ram: z
      .number({ error: `a whole number of MiB, ${MIN_RAM_MB}–${MAC99_MAX_RAM_MB}` })
      .int({ error: 'a whole number of MiB' })
      .min(MIN_RAM_MB, { error: `at least ${MIN_RAM_MB} MiB` })
      .max(MAC99_MAX_RAM_MB, { error: (i) => `${String(i.input)} is too much: mac99 supports at most ${MAC99_MAX_RAM_MB} MiB (2 GiB)` }),
    cpu: z.optional(z.string().transform(canonicalCpu)),
    disk: absolutePath('disk'),
    disk_format: z.enum(DISK_FORMATS, { error: `one of ${DISK_FORMATS.join(', ')}` }),
    cdrom: z.optional(absolutePath('cdrom')),
    /** A folder made into a read-only HFS+ image (talos-mac share), attached as a second CD. */
    share: z.optional(absolutePath('share')),
    /** The folder `share` was made from (talos-mac share NAME --refresh builds it again). */
    share_from: z.optional(absolutePath('share_from')),
    /** A folder the running guest reads and writes (talos-mac share NAME DIR --live; src/launch/live-share.ts). */
    live_share: z.optional(absolutePath('live_share')),
    /** Mac OS X only: serve the live share over AFP instead of WebDAV (share NAME DIR --live --protocol afp); Mac OS 9 always gets AFP. */
    live_share_protocol: z.optional(z.enum(['afp', 'webdav'], { error: 'afp or webdav' })),
    net: z.string().refine((v) => v === 'user' || v === 'none' || TAP_IFACE.test(v), { error: 'user, none, or tap:IFACE (an existing tap device, e.g. tap:tap0)' }),
    nic: z.optional(z.enum(NICS, { error: `one of ${NICS.join(', ')}` })),
    resolution: z.string().regex(RESOLUTION, { error: 'WIDTHxHEIGHT or WIDTHxHEIGHTxDEPTH with depth 8, 15 or 32 (e.g. 1024x768x32)' }),
    display: z.optional(z.string().regex(DISPLAY_MODE, { error: 'auto, window, vnc, vnc=HOST:N, serial or none' })),
  })
  .strict()
  .superRefine((g, ctx) => {
    if (g.cpu === undefined) return;
    const os = osById(g.os);
    if (!os.tcg.cpus.includes(g.cpu)) {
      ctx.issues.push({ code: 'custom', path: ['cpu'], input: g.cpu, message: `${JSON.stringify(g.cpu)} is not a CPU for ${os.title}: use one of ${os.tcg.cpus.join(', ')}` });
    }
  });

export type Guest = z.infer<typeof GuestSchema>;

export function guestOs(g: Guest): OsEntry {
  return osById(g.os);
}

/** "field: message" lines for people reading a terminal. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => {
      const field = i.path.length ? i.path.map(String).join('.') : '(file)';
      const msg =
        i.code === 'unrecognized_keys'
          ? `unknown field${i.keys.length > 1 ? 's' : ''} ${i.keys.join(', ')} (allowed: ${Object.keys(GuestSchema.shape).join(', ')})`
          : i.code === 'invalid_type' && /received undefined/.test(i.message)
            ? `missing: ${i.message.replace(/^Invalid input: /, '').replace(/, received undefined$/, '')}`
            : i.message;
      return `  ${field}: ${msg}`;
    })
    .join('\n');
}
