import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { selectFfmpeg } from '@switchboard/media';
import {
  amrSample,
  dropPrefix,
  ffconcatList,
  freePort,
  hlsPlaylist,
  pdfBomb,
  signMeta,
  startApp,
  startFakeGraph,
  startFakeMediaHost,
  startFakeOpenAI,
  testRedisUrl,
  uniquePrefix,
  waitFor,
  waitForHttp,
  whatsappTextDelivery,
  type AppProcess,
  type FakeGraph,
  type FakeMediaHost,
  type FakeOpenAI,
} from '@switchboard/testkit';

jest.setTimeout(120_000);

const SECRET = 'process_attack_secret';
const TOKEN = 'attack-access-token';
const PNID = '106540352242922';
/** The phrase hidden in a local audio file of the worker's machine. */
const PHRASE = 'VAULT-CODE-7311';
/**
 * Peak RSS the worker may reach over the whole run, bomb included (measured: ~150 MB; before the
 * fix a 1 GiB bomb took it to 2.2 GB).
 */
const WORKER_PEAK_RSS_MB = 300;

/** Peak and current resident memory of a process, from /proc (Linux). */
async function memoryOf(pid: number): Promise<{ peakMb: number; rssMb: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'latin1');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
  return { peakMb: kb('VmHWM') / 1024, rssMb: kb('VmRSS') / 1024 };
}

function mediaDelivery(waId: string, type: 'audio' | 'document', body: Record<string, unknown>) {
  const wamid = `wamid.ATTACK${Date.now()}${Math.random().toString(36).slice(2, 8)}`;
  return {
    object: 'whatsapp_business_account',
    entry: [{ id: 'W', changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { phone_number_id: PNID }, contacts: [{ wa_id: waId, profile: { name: 'A' } }], messages: [{ from: waId, id: wamid, timestamp: String(Math.floor(Date.now() / 1000)), type, [type]: body }] } }] }],
  };
}

/**
 * Attacker's view, real processes (whatsapp-ingress + worker), real Redis, fakes on loopback. The
 * worker runs with a PATH that has no ffmpeg, as on a fresh machine: it must use the npm-bundled one.
 * Media lookups and downloads go through the fake Graph's origin (WHATSAPP_GRAPH_URL), so the test
 * holds whatever fetch rules apply to provider origins.
 */
describe('hostile media against the real worker process', () => {
  const prefix = uniquePrefix('attack');
  let dir: string;
  let media: FakeMediaHost;
  let graph: FakeGraph;
  let openai: FakeOpenAI;
  let ingress: AppProcess;
  let worker: AppProcess;
  let ingressUrl: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sb-attack-'));
    media = await startFakeMediaHost({ whatsappToken: TOKEN });
    graph = await startFakeGraph({ proxyUnknownTo: media.url });
    media.setPublicOrigin(new URL(graph.url).origin);
    // the fake speech-to-text "hears" the phrase when the uploaded audio carries it
    openai = await startFakeOpenAI({ transcribe: (u) => (u.bytes.includes(Buffer.from(PHRASE)) ? `the code is ${PHRASE}` : 'please send me the invoice again') });
    const [ip, wp] = [await freePort(), await freePort()];
    ingressUrl = `http://127.0.0.1:${ip}`;
    const env = {
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: prefix,
      LOG_LEVEL: 'info',
      WHATSAPP_APP_SECRET: SECRET,
      WHATSAPP_VERIFY_TOKEN: 'v',
      WHATSAPP_ACCESS_TOKEN: TOKEN,
      WHATSAPP_GRAPH_URL: graph.url,
      OPENAI_API_KEY: 'sk-attack',
      OPENAI_BASE_URL: openai.url,
      TURN_DEBOUNCE_MS: '100',
      WHATSAPP_PORT: String(ip),
      WORKER_METRICS_PORT: String(wp),
      MEDIA_TMP_DIR: join(dir, 'media'),
    };
    ingress = startApp('whatsapp-ingress', env);
    // a fresh machine: no ffmpeg anywhere on PATH
    worker = startApp('worker', { ...env, PATH: join(dir, 'empty-bin') });
    await waitForHttp(`${ingressUrl}/readyz`);
    await waitForHttp(`http://127.0.0.1:${wp}/readyz`);
  });

  afterAll(async () => {
    for (const p of [ingress, worker]) if (p && p.child.exitCode === null) p.child.kill('SIGKILL');
    await graph?.close();
    await media?.close();
    await openai?.close();
    const admin = new Redis(testRedisUrl());
    await dropPrefix(admin, prefix);
    admin.disconnect();
    await rm(dir, { recursive: true, force: true });
  });

  async function post(payload: unknown): Promise<number> {
    const raw = JSON.stringify(payload);
    const res = await fetch(`${ingressUrl}/webhooks/whatsapp`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signMeta(raw, SECRET) }, body: raw });
    return res.status;
  }

  const llmSaw = () => JSON.stringify(openai.requests);

  it('says at start which ffmpeg it uses: the npm-bundled one when the system has none', async () => {
    await waitFor(() => /ffmpeg selected/.test(worker.output()), 15_000, 'ffmpeg selection logged');
    const line = worker.output().split('\n').find((l) => l.includes('ffmpeg selected'))!;
    expect(JSON.parse(line)).toMatchObject({ source: 'bundled', ffmpeg: expect.stringMatching(/@ffmpeg-installer/) });
  });

  it('an OGG/Opus voice note goes to speech-to-text as it is; an AMR one is converted by the bundled ffmpeg', async () => {
    const bundled = selectFfmpeg({ pathEnv: join(dir, 'empty-bin') }).ffmpegPath!;
    const oggPath = join(dir, 'hello.ogg');
    execFileSync(bundled, ['-hide_banner', '-v', 'error', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', '-ac', '1', '-c:a', 'libopus', '-b:a', '16k', oggPath]);
    const ogg = await readFile(oggPath);
    const oggId = media.whatsapp.add({ bytes: ogg, mimeType: 'audio/ogg; codecs=opus' });
    const amrId = media.whatsapp.add({ bytes: amrSample(2), mimeType: 'audio/amr' });
    expect(await post(mediaDelivery('15551700001', 'audio', { id: oggId, mime_type: 'audio/ogg; codecs=opus', voice: true }))).toBe(200);
    expect(await post(mediaDelivery('15551700002', 'audio', { id: amrId, mime_type: 'audio/amr', voice: true }))).toBe(200);
    await waitFor(() => graph.textsTo('15551700001').length === 1 && graph.textsTo('15551700002').length === 1, 40_000, 'replies to both voice notes');
    const sent = openai.transcriptions;
    const oggUpload = sent.find((u) => u.filename === 'voice.ogg');
    expect(oggUpload?.bytes.equals(ogg)).toBe(true);
    const mp3 = sent.find((u) => u.filename === 'audio.mp3');
    expect(mp3?.contentType).toBe('audio/mpeg');
    expect(graph.textsTo('15551700002')[0]).toContain('please send me the invoice again');
  });

  it('a "voice note" that is an HLS playlist (or ffconcat list) naming a local file is refused; the phrase never leaves the machine', async () => {
    // a real audio file on the worker's disk that an unhardened ffmpeg decodes through the playlist
    // (checked by hand with ffmpeg 4.1 and 5.1); the proof is that nothing reaches speech-to-text
    const bundled = selectFfmpeg({ pathEnv: join(dir, 'empty-bin') }).ffmpegPath!;
    const secretAudio = join(dir, 'private-recording.ogg');
    execFileSync(bundled, ['-hide_banner', '-v', 'error', '-f', 'lavfi', '-i', 'sine=frequency=300:duration=1', '-metadata', `title=${PHRASE}`, '-ac', '1', '-c:a', 'libopus', secretAudio]);
    expect((await readFile(secretAudio)).includes(Buffer.from(PHRASE))).toBe(true);
    const secretText = join(dir, 'notes.txt');
    await writeFile(secretText, `internal: ${PHRASE}\n`);
    const before = openai.transcriptions.length;
    const attacks = [hlsPlaylist(secretAudio), hlsPlaylist(secretText), ffconcatList(secretAudio)];
    for (const [i, bytes] of attacks.entries()) {
      const id = media.whatsapp.add({ bytes, mimeType: 'audio/ogg; codecs=opus' });
      expect(await post(mediaDelivery(`1555171000${i}`, 'audio', { id, mime_type: 'audio/ogg; codecs=opus', voice: true }))).toBe(200);
    }
    await waitFor(() => attacks.every((_, i) => graph.textsTo(`1555171000${i}`).length === 1), 40_000, 'a reply to each attack');
    // refused before any tool or speech-to-text saw it; the agent was told why
    expect(openai.transcriptions.length).toBe(before);
    expect(llmSaw()).toContain('unsupported media (a playlist or file list');
    expect(llmSaw()).not.toContain(PHRASE);
    for (const i of attacks.keys()) expect(graph.textsTo(`1555171000${i}`).join(' ')).not.toContain(PHRASE);
    expect(worker.child.exitCode).toBeNull();
  });

  it(`a PDF that inflates to 1 GiB is "too large to read"; the worker's peak RSS stays under ${WORKER_PEAK_RSS_MB} MB and another customer is answered meanwhile`, async () => {
    const pid = worker.child.pid!;
    const id = media.whatsapp.add({ bytes: await pdfBomb(1024 * 1024 * 1024), mimeType: 'application/pdf', filename: 'invoice.pdf' });
    const started = Date.now();
    expect(await post(mediaDelivery('15551720001', 'document', { id, mime_type: 'application/pdf', filename: 'invoice.pdf' }))).toBe(200);
    const { payload } = whatsappTextDelivery({ waId: '15551720002', text: 'where is my parcel?', phoneNumberId: PNID });
    expect(await post(payload)).toBe(200);
    await waitFor(() => graph.textsTo('15551720002').length === 1, 20_000, 'the other customer is answered');
    const otherMs = Date.now() - started;
    await waitFor(() => graph.textsTo('15551720001').length === 1, 60_000, 'a reply to the bomb');
    expect(llmSaw()).toContain('The document \\"invoice.pdf\\" is too large to read');
    const mem = await memoryOf(pid);
    expect(mem.peakMb).toBeLessThan(WORKER_PEAK_RSS_MB);
    expect(otherMs).toBeLessThan(15_000);
    expect(worker.child.exitCode).toBeNull();
  });
});
