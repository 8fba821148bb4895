// The embedded store as a process (started by `pnpm start` when DATABASE_URL is unset):
//   node dist/embedded/main.js --data-dir .data/store [--port 0] [--host 127.0.0.1]
// First stdout line: {"ready":true,"url":…,"ms":…} (or {"ready":false,"error":…} and exit 1).
// SIGINT / SIGTERM: clients are disconnected, PGlite flushes and closes, exit 0.
import { parseArgs } from 'node:util';
import { startEmbeddedStore } from './server.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { 'data-dir': { type: 'string' }, port: { type: 'string', default: '0' }, host: { type: 'string', default: '127.0.0.1' } },
    strict: true,
  });
  if (!values['data-dir']) throw new Error('--data-dir is required');
  const started = Date.now();
  const store = await startEmbeddedStore({
    dataDir: values['data-dir'],
    port: Number(values.port),
    host: values.host,
    warn: (m) => process.stderr.write(`${m}\n`),
  });
  process.stdout.write(`${JSON.stringify({ ready: true, url: store.url, ms: Date.now() - started })}\n`);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    store.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`embedded store did not close cleanly: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  process.on('SIGHUP', stop);
}

main().catch((err: unknown) => {
  process.stdout.write(`${JSON.stringify({ ready: false, error: err instanceof Error ? err.message : String(err) })}\n`);
  process.exit(1);
});
