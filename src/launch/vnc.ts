import { UserError } from '../errors.js';

/** `--display vnc[=HOST:N]`: where the VNC server listens; N is the display (TCP port 5900 + N). */
export interface VncRequest {
  host: string;
  /** Unset: the first free display from 0 on. */
  display?: number;
}

export const VNC_BASE_PORT = 5900;
const MAX_DISPLAY = 99;

/** Parses the part after `vnc=`: HOST:N, [IPv6]:N or :N (localhost). */
export function parseVnc(spec: string | undefined): VncRequest {
  if (spec === undefined) return { host: '127.0.0.1' };
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*|)?:(\d{1,2})$/.exec(spec);
  if (!m) throw new UserError(`--display vnc=${JSON.stringify(spec).slice(1, -1)}: expected HOST:N (e.g. vnc=127.0.0.1:1, VNC display N = TCP port ${VNC_BASE_PORT} + N, N from 0 to ${MAX_DISPLAY})`);
  return { host: m[1] || '127.0.0.1', display: Number(m[2]) };
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || /^127\./.test(host);
}

async function portFree(host: string, port: number): Promise<boolean> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host: host.replace(/^\[(.*)\]$/, '$1'), port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** HOST:N for QEMU's -vnc: the asked display, or the first one whose port nobody listens on. */
export async function vncAddress(req: VncRequest): Promise<string> {
  if (req.display !== undefined) return `${req.host}:${req.display}`;
  for (let n = 0; n <= MAX_DISPLAY; n++) if (await portFree(req.host, VNC_BASE_PORT + n)) return `${req.host}:${n}`;
  throw new UserError(`no free VNC display on ${req.host} (ports ${VNC_BASE_PORT}–${VNC_BASE_PORT + MAX_DISPLAY} are all in use): name one with --display vnc=${req.host}:N`, 1);
}

/** "127.0.0.1:5901 (display :1)" for people and VNC viewers. */
export function describeVnc(address: string): string {
  const i = address.lastIndexOf(':');
  const n = Number(address.slice(i + 1));
  return `${address.slice(0, i)}:${VNC_BASE_PORT + n} (VNC display :${n})`;
}
