/**
 * One guest connection to the live share: QEMU's user network runs this for each TCP connection
 * the guest opens to the share address (`guestfwd=…-cmd:`; libslirp's fork_exec hands the
 * connection over as fds 0, 1 and 2), and it relays the bytes to the share's server on loopback,
 * whose port it reads from the launch's state file. A chardev target (`guestfwd=…-tcp:HOST:PORT`)
 * is one stream for every connection (net/slirp.c, slirp_guestfwd): HTTP clients open several.
 * Stand-alone (no imports from talos-mac) and silent: anything written to stderr would reach the guest.
 */
import { readFileSync } from 'node:fs';
import { Socket, connect } from 'node:net';

let port: number | undefined;
try {
  port = (JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as { port?: number }).port;
} catch {
  port = undefined;
}
if (typeof port !== 'number') process.exit(1);
const guest = new Socket({ fd: 0, readable: true, writable: true, allowHalfOpen: true });
const server = connect({ host: '127.0.0.1', port });
const end = (): void => {
  guest.destroy();
  server.destroy();
};
guest.on('error', end);
server.on('error', end);
// A guest that half-closes (shuts its sending side, as nc does) still waits for the answer, but Go's
// HTTP server drops a request whose client sent EOF (seen here: the PUT lands, no response comes):
// the half-close is passed on only after the server had time to answer.
guest.pipe(server, { end: false });
guest.once('end', () => setTimeout(() => server.end(), 30_000).unref());
server.pipe(guest);
// The server closed and its last bytes went out: nothing more can be answered.
guest.once('finish', () => guest.destroy());
