// Results leave the box over the serial console, which the kernel shares. Each result is sent
// as base64 lines between BEGIN and END marker lines that carry a per-boot nonce, its byte size
// and its sha256; the parser keeps only marker-delimited base64 lines and refuses a result whose
// size or checksum differs, so a kernel message can never be read as (part of) a result.
import { createHash, randomBytes } from 'node:crypto';

export const newNonce = (): string => randomBytes(8).toString('hex');

/** The sh function (busybox) /init uses to send the file $1 under the name $2. */
export function emitFunction(nonce: string): string {
  return [
    'emit() {',
    '  sz=$(wc -c < "$1" | tr -d " "); sum=$(sha256sum "$1" | cut -d" " -f1)',
    `  echo "@@TMBOX-BEGIN ${nonce} $2 $sz $sum"`,
    '  base64 "$1"',
    `  echo "@@TMBOX-END ${nonce} $2"`,
    '}',
  ].join('\n');
}

export const doneLine = (nonce: string): string => `@@TMBOX-DONE ${nonce}`;

export interface Framed {
  results: Map<string, Buffer>;
  /** True when the DONE marker was seen: every result the box meant to send was sent. */
  done: boolean;
}

export class FramingError extends Error {}

export function parseFramed(console: string, nonce: string): Framed {
  const results = new Map<string, Buffer>();
  let current: { name: string; size: number; sum: string; lines: string[] } | undefined;
  let done = false;
  for (const raw of console.split('\n')) {
    const line = raw.replace(/\r$/, '').trim();
    const begin = line.match(new RegExp(`@@TMBOX-BEGIN ${nonce} (\\S+) (\\d+) ([0-9a-f]{64})$`));
    if (begin) {
      current = { name: begin[1]!, size: Number(begin[2]), sum: begin[3]!, lines: [] };
      continue;
    }
    if (line.endsWith(`@@TMBOX-END ${nonce} ${current?.name}`) && current) {
      const data = Buffer.from(current.lines.join(''), 'base64');
      const sum = createHash('sha256').update(data).digest('hex');
      if (data.length !== current.size || sum !== current.sum) {
        throw new FramingError(`result ${current.name}: received ${data.length} bytes (sha256 ${sum}), the box sent ${current.size} (sha256 ${current.sum})`);
      }
      results.set(current.name, data);
      current = undefined;
      continue;
    }
    if (line.endsWith(doneLine(nonce))) done = true;
    else if (current && /^[A-Za-z0-9+/=]+$/.test(line)) current.lines.push(line);
  }
  if (current) throw new FramingError(`result ${current.name}: no END marker (the boot ended mid-transfer)`);
  return { results, done };
}
