import { FrontendFramer, SYNC_MESSAGE, queryMessage } from './wire';

const startup = () => {
  const body = Buffer.from('user\0postgres\0database\0postgres\0\0');
  const b = Buffer.alloc(8);
  b.writeInt32BE(8 + body.length, 0);
  b.writeInt32BE(196_608, 4);
  return Buffer.concat([b, body]);
};
const sslRequest = () => Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

test('SSLRequest, startup, then typed messages, whatever the chunking', () => {
  const stream = Buffer.concat([sslRequest(), startup(), queryMessage('select 1'), SYNC_MESSAGE]);
  for (const size of [1, 3, 7, stream.length]) {
    const framer = new FrontendFramer();
    const got = [];
    for (let i = 0; i < stream.length; i += size) got.push(...framer.push(stream.subarray(i, i + size)));
    expect(got.map((m) => (m.kind === 'message' ? m.type : m.kind))).toEqual(['ssl-request', 'startup', 'Q', 'S']);
    const q = got[2];
    expect(q?.kind === 'message' && q.bytes.toString('latin1', 5)).toBe('select 1\0');
  }
});

test('a malformed length or an unknown protocol ends the connection', () => {
  expect(() => new FrontendFramer().push(Buffer.from([0, 0, 0, 8, 0, 2, 0, 0]))).toThrow(/unsupported protocol 2\.0/);
  const framer = new FrontendFramer();
  framer.push(startup());
  expect(() => framer.push(Buffer.from([0x51, 0, 0, 0, 1]))).toThrow(/bad message length/);
});
