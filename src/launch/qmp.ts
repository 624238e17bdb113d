import { connect, type Socket } from 'node:net';

/** A QMP error reply: its `class` (e.g. CommandNotFound) and `desc` (docs/interop/qmp-spec: "error"). */
export class QmpError extends Error {
  constructor(readonly errorClass: string, desc: string) {
    super(desc);
  }
}

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
}

/** A minimal QMP client (docs/interop/qmp-spec): one JSON object per line, commands answered in order. */
export class QmpClient {
  private buffer = '';
  private readonly waiting: Array<{ resolve: (v: unknown) => void; reject: (e: Error) => void }> = [];
  private readonly listeners: Array<(e: QmpEvent) => void> = [];
  private greeted!: () => void;
  private readonly greeting = new Promise<void>((r) => (this.greeted = r));
  closed = false;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.waiting.splice(0)) w.reject(new Error('QMP connection closed'));
    });
    socket.on('error', () => undefined);
  }

  /** Connects and negotiates capabilities; rejects if nothing listens at `path`. */
  static async connect(path: string, timeoutMs = 2000): Promise<QmpClient> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect(path);
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error(`QMP at ${path} did not answer`));
      }, timeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        resolve(s);
      });
      s.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    const client = new QmpClient(socket);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        client.greeting,
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`QMP at ${path} sent no greeting`)), timeoutMs))),
      ]);
    } catch (err) {
      client.close();
      throw err;
    } finally {
      clearTimeout(timer);
    }
    await client.execute('qmp_capabilities');
    return client;
  }

  /** Retries until the socket answers (QEMU creates it a moment after starting). */
  static async connectWhenReady(path: string, alive: () => boolean, timeoutMs = 10_000): Promise<QmpClient | undefined> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end && alive()) {
      try {
        return await QmpClient.connect(path, 1000);
      } catch {
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    return undefined;
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (!line) continue;
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      if ('QMP' in msg) this.greeted();
      else if ('event' in msg) for (const l of this.listeners) l(msg as unknown as QmpEvent);
      else if ('return' in msg || 'error' in msg) {
        const w = this.waiting.shift();
        if (!w) continue;
        if ('error' in msg) {
          const e = msg['error'] as { class?: unknown; desc?: unknown };
          w.reject(new QmpError(String(e.class ?? 'GenericError'), String(e.desc ?? 'QMP error')));
        }
        else w.resolve(msg['return']);
      }
    }
  }

  onEvent(listener: (e: QmpEvent) => void): void {
    this.listeners.push(listener);
  }

  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('QMP connection closed'));
    return new Promise<T>((resolve, reject) => {
      this.waiting.push({ resolve: resolve as (v: unknown) => void, reject });
      this.socket.write(JSON.stringify(args ? { execute: command, arguments: args } : { execute: command }) + '\n');
    });
  }

  close(): void {
    this.socket.end();
    this.socket.destroy();
  }
}

/**
 * The accelerator a running QEMU uses. `query-accelerators` (QEMU 10.2+, qapi/accelerator.json:
 * AcceleratorInfo `{"enabled": "kvm", "present": ["kvm", "qtest", "tcg"]}`) where QEMU has it;
 * otherwise `query-kvm` (`{"enabled": true, "present": true}`), proposed for deprecation in 11.0.
 */
export async function queryAccelerator(q: QmpClient): Promise<string> {
  try {
    const a = await q.execute<{ enabled?: unknown }>('query-accelerators');
    if (typeof a.enabled === 'string') return a.enabled;
  } catch (err) {
    if (!(err instanceof QmpError && err.errorClass === 'CommandNotFound')) throw err;
  }
  const kvm = await q.execute<{ enabled: boolean }>('query-kvm');
  return kvm.enabled ? 'kvm' : 'tcg';
}
