// Runs in the box: the HTTP server the test guest's share check talks to (tests/guest/init.c,
// talos.share=10.0.2.2:PORT: QEMU's user network takes the guest's connections to 10.0.2.2 to the
// box's loopback). Each PUT /from-guest.txt is kept as DIR/put-N; GET /to-guest.txt serves
// DIR/to-guest.txt. Usage: node guest-share.mjs PORT DIR
import { createServer } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [port, dir] = process.argv.slice(2);
let puts = 0;
createServer((req, res) => {
  const body = [];
  req.on('data', (d) => body.push(d));
  req.on('end', () => {
    if (req.method === 'PUT' && req.url === '/from-guest.txt') {
      writeFileSync(join(dir, `put-${++puts}`), Buffer.concat(body));
      res.writeHead(201).end();
    } else if (req.method === 'GET' && req.url === '/to-guest.txt') {
      const data = readFileSync(join(dir, 'to-guest.txt'));
      res.writeHead(200, { 'content-length': data.length }).end(data);
    } else res.writeHead(404).end();
  });
}).listen(Number(port), '127.0.0.1');
