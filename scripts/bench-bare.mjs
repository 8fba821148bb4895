// Baseline for `pnpm bench`: a bare Express endpoint that reads the body and answers 200.
import express from 'express';

const app = express();
app.post('/webhooks/whatsapp', express.raw({ type: () => true, limit: '3mb' }), (_req, res) => res.status(200).send('EVENT_RECEIVED'));
const server = app.listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('ready\n'));
server.keepAliveTimeout = 65_000;
process.on('SIGTERM', () => process.exit(0));
