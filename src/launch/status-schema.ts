import * as z from 'zod/mini';

/**
 * The contract of `talos-mac status --json`: one guest (`status NAME --json`, GuestStatusSchema) or
 * every guest (`status --json`, StatusReportSchema). Scripts may import them from 'talos-mac/schema'.
 */
export const DisplayStatusSchema = z.object({
  /** vnc, gtk, sdl, … or none (headless, or the serial console), as QEMU reports it. */
  kind: z.string(),
  vnc: z.optional(z.object({ host: z.string(), port: z.number(), display: z.number(), address: z.string() })),
});

export const GuestStatusSchema = z.object({
  name: z.string(),
  running: z.boolean(),
  pid: z.optional(z.number()),
  state: z.optional(z.string()),
  accel: z.optional(z.enum(['kvm', 'tcg'])),
  qmp: z.optional(z.string()),
  display: z.optional(DisplayStatusSchema),
  lastDetached: z.optional(z.object({ exit: z.number(), message: z.string() })),
  liveShare: z.optional(
    z.object({ dir: z.string(), protocol: z.enum(['webdav', 'afp']), user: z.string(), password: z.string(), port: z.number(), pid: z.number(), address: z.string() }),
  ),
  outside: z.optional(z.object({ pids: z.array(z.number()), disk: z.string() })),
  /** Only in the list: the definition could not be read (the reason), so nothing else is known. */
  problem: z.optional(z.string()),
});

export const StatusReportSchema = z.object({
  schema: z.literal('talos-mac/status@1'),
  guests: z.array(GuestStatusSchema),
});

export type GuestStatusReport = z.infer<typeof GuestStatusSchema>;
export type StatusReport = z.infer<typeof StatusReportSchema>;
