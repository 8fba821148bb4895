/** The sharing rules of one PGlite backend among connections, on a recording backend. */
import { SharedSession, type Backend } from './shared-session';

const msg = (type: string, tag: string) => Buffer.from(`${type}${tag}`);

/** Records what ran; `BEGIN`/`COMMIT`/`ROLLBACK` in a unit toggle the transaction flag. */
function recordingBackend(opts: { failOn?: string } = {}) {
  const ran: string[] = [];
  let tx = false;
  const backend: Backend = {
    async run(bytes, onData) {
      const text = Buffer.from(bytes).toString('latin1');
      await new Promise((r) => setTimeout(r, 1));
      if (opts.failOn && text.includes(opts.failOn)) throw new Error('wasm trap');
      ran.push(text);
      if (/BEGIN/.test(text)) tx = true;
      if (/COMMIT|ROLLBACK/.test(text)) tx = false;
      onData(Buffer.from('Z'));
    },
    inTransaction: () => tx,
  };
  return { backend, ran };
}

const settle = () => new Promise((r) => setTimeout(r, 30));
/** Waits until `done()` holds (bounded): timers run late on a busy machine, so never a fixed sleep before a positive check. */
async function until(done: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!done() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
}
const noop = () => {};

test('an extended sequence runs as one unit: another connection never runs between its Parse and its Sync', async () => {
  const { backend, ran } = recordingBackend();
  const s = new SharedSession(backend);
  s.submit(1, 'P', msg('P', 'a'), noop, noop);
  s.submit(2, 'P', msg('P', 'b'), noop, noop);
  s.submit(1, 'B', msg('B', 'a'), noop, noop);
  s.submit(2, 'B', msg('B', 'b'), noop, noop);
  s.submit(2, 'E', msg('E', 'b'), noop, noop);
  s.submit(1, 'E', msg('E', 'a'), noop, noop);
  s.submit(2, 'S', msg('S', 'b'), noop, noop);
  s.submit(1, 'S', msg('S', 'a'), noop, noop);
  await until(() => ran.length >= 2);
  expect(ran).toEqual(['PbBbEbSb', 'PaBaEaSa']);
});

test('while a connection is in a transaction only its units run; the others run after its COMMIT', async () => {
  const { backend, ran } = recordingBackend();
  const s = new SharedSession(backend);
  s.submit(1, 'Q', msg('Q', 'BEGIN'), noop, noop);
  await until(() => ran.length >= 1);
  s.submit(2, 'Q', msg('Q', 'two'), noop, noop);
  await settle();
  expect(ran).toEqual(['QBEGIN']);
  s.submit(1, 'Q', msg('Q', 'one'), noop, noop);
  s.submit(1, 'Q', msg('Q', 'COMMIT'), noop, noop);
  await until(() => ran.length >= 4);
  expect(ran).toEqual(['QBEGIN', 'Qone', 'QCOMMIT', 'Qtwo']);
});

test('a connection that closes inside its transaction is rolled back and the others go on', async () => {
  const { backend, ran } = recordingBackend();
  const s = new SharedSession(backend);
  s.submit(1, 'Q', msg('Q', 'BEGIN'), noop, noop);
  await until(() => ran.length >= 1);
  s.submit(2, 'Q', msg('Q', 'two'), noop, noop);
  s.release(1);
  await until(() => ran.length >= 3);
  expect(ran.map((r) => r.replace(/[^A-Za-z]/g, ''))).toEqual(['QBEGIN', 'QROLLBACK', 'Qtwo']);
});

test('a connection idle in its transaction while others wait is reported after the timeout', async () => {
  const { backend } = recordingBackend();
  const idle: number[] = [];
  const s = new SharedSession(backend, { idleInTransactionMs: 50, onIdleOwner: (c) => idle.push(c) });
  s.submit(1, 'Q', msg('Q', 'BEGIN'), noop, noop);
  await settle();
  expect(idle).toEqual([]); // nobody waits: no timer
  s.submit(2, 'Q', msg('Q', 'two'), noop, noop);
  await until(() => idle.length >= 1);
  expect(idle).toEqual([1]);
});

test('a unit that fails inside the backend fails its connection only', async () => {
  const { backend, ran } = recordingBackend({ failOn: 'boom' });
  const s = new SharedSession(backend);
  const errors: string[] = [];
  s.submit(1, 'Q', msg('Q', 'boom'), noop, (e) => errors.push((e as Error).message));
  s.submit(2, 'Q', msg('Q', 'fine'), noop, noop);
  await until(() => errors.length >= 1 && ran.length >= 1);
  expect(errors).toEqual(['wasm trap']);
  expect(ran).toEqual(['Qfine']);
});
