// Baselines for `pnpm bench`: an endpoint that reads the body and answers 200, as bare Express
// (default) or, with BARE=http, as a bare node:http server (the floor under any framework).
import http from 'node:http';
import express from 'express';

const port = Number(process.env.PORT);
const ready = () => process.stdout.write('ready\n');
/** @type {http.Server} */
let server;
if (process.env.BARE === 'http') {
  server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      Buffer.concat(chunks);
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': 14 });
      res.end('EVENT_RECEIVED');
    });
  });
  server.listen(port, '127.0.0.1', ready);
} else {
  const app = express();
  app.post('/webhooks/whatsapp', express.raw({ type: () => true, limit: '3mb' }), (_req, res) => res.status(200).send('EVENT_RECEIVED'));
  server = app.listen(port, '127.0.0.1', ready);
}
server.keepAliveTimeout = 65_000;
process.on('SIGTERM', () => process.exit(0));
