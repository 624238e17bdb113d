// Results leave the box over the serial console, which the kernel and the firmware (skiboot logs
// there too, between any two characters) share. Each result is sent twice, as numbered base64
// lines between BEGIN and END marker lines carrying a per-boot nonce, its byte size and its
// sha256. The parser keeps only well-formed numbered lines, fills a line damaged in one copy from
// the other, and refuses a result whose size or checksum still differs: a console message can
// never be read as (part of) a result.
import { createHash, randomBytes } from 'node:crypto';

export const newNonce = (): string => randomBytes(8).toString('hex');

export const COPIES = 2;

/** The sh function (busybox) /init uses to send the file $1 under the name $2. */
export function emitFunction(nonce: string): string {
  return [
    'emit() {',
    '  sz=$(wc -c < "$1" | tr -d " "); sum=$(sha256sum "$1" | cut -d" " -f1)',
    `  for copy in ${Array.from({ length: COPIES }, (_, i) => i + 1).join(' ')}; do`,
    `    echo "@@TMBOX-BEGIN ${nonce} $2 $sz $sum"`,
    `    base64 "$1" | awk '{ print "@" NR ":" $0 ":" }'`,
    `    echo "@@TMBOX-END ${nonce} $2"`,
    '  done',
    '}',
  ].join('\n');
}

export const doneLine = (nonce: string): string => `@@TMBOX-DONE ${nonce}`;

export interface Framed {
  results: Map<string, Buffer>;
  /** True when the DONE marker was seen: every result the box meant to send was sent. */
  done: boolean;
  /** Lines that arrived damaged in one copy and were taken from another. */
  repaired: number;
}

export class FramingError extends Error {}

interface Pending {
  name: string;
  size: number;
  sum: string;
  copies: Array<Map<number, string>>;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function assemble(p: Pending): { data: Buffer; repaired: number } {
  const lines = Math.max(0, ...p.copies.flatMap((c) => [...c.keys()]));
  const damagedInFirst = Array.from({ length: lines }, (_, i) => p.copies[0]?.get(i + 1)).filter((x) => x === undefined).length;
  // Each copy alone first; then line by line from whichever copy has it.
  for (const [k, c] of p.copies.entries()) {
    const parts = Array.from({ length: lines }, (_, i) => c.get(i + 1));
    if (parts.every((x) => x !== undefined)) {
      const data = Buffer.from(parts.join(''), 'base64');
      if (data.length === p.size && sha256(data) === p.sum) return { data, repaired: k === 0 ? 0 : Math.max(1, damagedInFirst) };
    }
  }
  let repaired = 0;
  const parts: string[] = [];
  for (let i = 1; i <= lines; i++) {
    const have = p.copies.map((c) => c.get(i));
    const line = have.find((x) => x !== undefined);
    if (line === undefined) throw new FramingError(`result ${p.name}: line ${i} of ${lines} arrived damaged in every copy`);
    if (have[0] !== line) repaired++;
    parts.push(line);
  }
  const data = Buffer.from(parts.join(''), 'base64');
  const sum = sha256(data);
  if (data.length !== p.size || sum !== p.sum) {
    throw new FramingError(`result ${p.name}: received ${data.length} bytes (sha256 ${sum}), the box sent ${p.size} (sha256 ${p.sum})`);
  }
  return { data, repaired };
}

export function parseFramed(console: string, nonce: string): Framed {
  const pending = new Map<string, Pending>();
  let current: { p: Pending; lines: Map<number, string> } | undefined;
  let done = false;
  const begin = new RegExp(`@@TMBOX-BEGIN ${nonce} (\\S+) (\\d+) ([0-9a-f]{64})$`);
  for (const raw of console.split('\n')) {
    const line = raw.replace(/\r$/, '').trim();
    const b = line.match(begin);
    if (b) {
      const name = b[1]!;
      const p = pending.get(name) ?? { name, size: Number(b[2]), sum: b[3]!, copies: [] };
      pending.set(name, p);
      current = { p, lines: new Map() };
      p.copies.push(current.lines);
      continue;
    }
    if (current && line.endsWith(`@@TMBOX-END ${nonce} ${current.p.name}`)) {
      current = undefined;
      continue;
    }
    if (line.endsWith(doneLine(nonce))) done = true;
    else if (current) {
      const m = line.match(/^@(\d+):([A-Za-z0-9+/=]+):$/);
      if (m) current.lines.set(Number(m[1]), m[2]!);
    }
  }
  const results = new Map<string, Buffer>();
  let repaired = 0;
  for (const p of pending.values()) {
    const a = assemble(p);
    results.set(p.name, a.data);
    repaired += a.repaired;
  }
  return { results, done, repaired };
}
