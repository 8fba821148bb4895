/**
 * The validation report of ACCOUNTS_FILE at start, seen from outside the real worker process
 * (apps/worker/dist/main.js): a broken file stops it with every problem on stderr and no secret; a
 * good one is reported in one info line (ids and channels only).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { dropPrefix, freePort, startApp, testRedisUrl, uniquePrefix, waitFor, waitForHttp, type AppProcess } from '@switchboard/testkit';

jest.setTimeout(150_000);

/** Secret values of the files below: inline, from the environment, and inside keys that are wrong. */
const SECRETS = {
  waAppSecret: 'wa-app-secret-from-env-9QX',
  waToken: 'EAAGinlineTokenShopDe77',
  wxSecret: 'wx-corp-secret-inline-31',
  wxAesKey: 'tooShortAesKeySecret42',
  cwApi: 'cw-api-token-inline-64',
  tgToken: 'not-a-telegram-token-SECRET-88',
  tgMisspelt: '123456789:AAmisspeltKeyTokenSECRET99',
};

const BROKEN = `accounts:
  - id: shop-de
    channel: whatsapp
    appSecret: \${SHOP_DE_APP_SECRET}
    accessToken: ${SECRETS.waToken}
    phoneNumberIds: ["+49 151 0000"]
  - id: cn-kf
    channel: wechat-kf
    corpId: ww1234567890
    secret: ${SECRETS.wxSecret}
    token: Tok3n
    aesKey: ${SECRETS.wxAesKey}
  - id: helpdesk
    channel: chatwoot
    url: not a url
    accountId: "1"
    apiToken: ${SECRETS.cwApi}
  - id: tg-shop
    channel: telegram
    botToken: ${SECRETS.tgToken}
    webhookSecret: fine-secret
    groupMode: sometimes
    botTokn: "${SECRETS.tgMisspelt}"
  - id: Tg_Shop
    channel: telegram
`;

const GOOD = `accounts:
  - id: shop-de
    channel: whatsapp
    title: Shop Germany
    appSecret: \${SHOP_DE_APP_SECRET}
    accessToken: ${SECRETS.waToken}
    verifyToken: verify-me
    phoneNumberIds: ["106540352242922", "106540352242923"]
  - id: cn-kf
    channel: wechat-kf
    corpId: ww1234567890
    secret: ${SECRETS.wxSecret}
    token: Tok3n
    aesKey: abcdefghijABCDEFGHIJ0123456789abcdefghijKLM
  - id: helpdesk
    channel: chatwoot
    url: http://127.0.0.1:9
    accountId: "1"
    apiToken: ${SECRETS.cwApi}
    webhookSecret: cw-hook
  - id: tg-shop
    channel: telegram
    botToken: "${SECRETS.tgMisspelt}"
    webhookSecret: fine-secret
`;

describe('worker process: ACCOUNTS_FILE validation report at start', () => {
  const prefix = uniquePrefix('accproc');
  let dir: string;
  let proc: AppProcess | undefined;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sb-accounts-proc-'));
  });

  afterEach(() => {
    if (proc && proc.child.exitCode === null) proc.child.kill('SIGKILL');
    proc = undefined;
  });

  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    const admin = new Redis(testRedisUrl());
    await dropPrefix(admin, prefix);
    admin.disconnect();
  });

  const envWith = async (file: string) => ({
    REDIS_URL: testRedisUrl(),
    QUEUE_PREFIX: prefix,
    LOG_LEVEL: 'info',
    WORKER_METRICS_PORT: String(await freePort()),
    ACCOUNTS_FILE: file,
    SHOP_DE_APP_SECRET: SECRETS.waAppSecret,
    // provider APIs nobody answers: the worker must not need them to start
    WHATSAPP_GRAPH_URL: 'http://127.0.0.1:9',
    TELEGRAM_API_URL: 'http://127.0.0.1:9',
    WECHAT_API_URL: 'http://127.0.0.1:9',
  });

  it('a broken file stops the worker (exit 1) with every problem, across channels, on stderr and no secret anywhere', async () => {
    const path = join(dir, 'broken.yaml');
    writeFileSync(path, BROKEN);
    proc = startApp('worker', await envWith(path));
    let stderr = '';
    proc.child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await proc.exited;
    expect(code).toBe(1);
    const expected = [
      /accounts\[4\]\.id: must match \[a-z0-9-\]\{1,40\}/,
      /accounts\[0\] \(shop-de\)\.verifyToken: /,
      /accounts\[0\] \(shop-de\)\.phoneNumberIds\.0: must be a numeric Meta id/,
      /accounts\[1\] \(cn-kf\)\.aesKey: must be exactly 43 characters/,
      /accounts\[2\] \(helpdesk\)\.url: must be the http\(s\) base URL/,
      /accounts\[2\] \(helpdesk\)\.webhookSecret: /,
      /accounts\[3\] \(tg-shop\)\.botToken: must look like/,
      /accounts\[3\] \(tg-shop\)\.groupMode: /,
      /accounts\[3\] \(tg-shop\): Unrecognized key: "botTokn"/,
    ];
    for (const re of expected) expect(stderr).toMatch(re);
    // one line per problem, each naming the file
    const lines = stderr.split('\n').filter((l) => l.trim().startsWith('- '));
    expect(lines).toHaveLength(expected.length);
    for (const l of lines) expect(l).toContain(`ACCOUNTS_FILE ${path}: `);
    const all = proc.output();
    for (const [name, secret] of Object.entries(SECRETS)) expect({ name, found: all.includes(secret) }).toEqual({ name, found: false });
  });

  it('a good file: the worker starts and reports the accounts it serves in one info line, ids and channels only', async () => {
    const path = join(dir, 'good.yaml');
    writeFileSync(path, GOOD);
    const env = await envWith(path);
    proc = startApp('worker', env);
    await waitForHttp(`http://127.0.0.1:${env.WORKER_METRICS_PORT}/readyz`, 90_000);
    const started = proc;
    await waitFor(async () => started.output().includes('"worker started"'), 5000, 'start line');
    const lines = proc
      .output()
      .split('\n')
      .filter((l) => l.includes('"accounts served"'))
      .map((l) => JSON.parse(l) as { level: string; accountsFile: string; accounts: unknown });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'info',
      accountsFile: path,
      accounts: [
        { channel: 'whatsapp', id: 'shop-de' },
        { channel: 'wechat-kf', id: 'cn-kf' },
        { channel: 'chatwoot', id: 'helpdesk' },
        { channel: 'telegram', id: 'tg-shop' },
      ],
    });
    const all = proc.output();
    for (const [name, secret] of Object.entries(SECRETS)) expect({ name, found: all.includes(secret) }).toEqual({ name, found: false });
  });

  it('an ingress checks the shared keys and its own channel: broken → exit 1 naming those problems; good → its start line lists its accounts', async () => {
    const broken = join(dir, 'broken-ingress.yaml');
    writeFileSync(broken, BROKEN);
    const env = { ...(await envWith(broken)), TELEGRAM_PORT: String(await freePort()) };
    proc = startApp('telegram-ingress', env);
    let stderr = '';
    proc.child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    expect(await proc.exited).toBe(1);
    expect(stderr).toMatch(/accounts\[4\]\.id: must match/);
    expect(stderr).toMatch(/accounts\[3\] \(tg-shop\)\.groupMode: /);
    expect(stderr).toMatch(/Unrecognized key: "botTokn"/);
    expect(stderr).not.toMatch(/\(cn-kf\)|\(helpdesk\)|\(shop-de\)/);
    for (const [name, secret] of Object.entries(SECRETS)) expect({ name, found: proc.output().includes(secret) }).toEqual({ name, found: false });

    const good = join(dir, 'good-ingress.yaml');
    writeFileSync(good, GOOD.replace('    webhookSecret: fine-secret\n', '    webhookSecret: fine-secret\n    botUsername: acme_shop_bot\n'));
    const okEnv = { ...(await envWith(good)), TELEGRAM_PORT: String(await freePort()) };
    proc = startApp('telegram-ingress', okEnv);
    await waitForHttp(`http://127.0.0.1:${okEnv.TELEGRAM_PORT}/healthz`);
    const started = proc;
    // the start line and the HTTP answer travel on different pipes: wait for the line itself
    await waitFor(async () => started.output().includes('"telegram-ingress listening"'), 5000, 'start line');
    const line = proc
      .output()
      .split('\n')
      .filter((l) => l.includes('"telegram-ingress listening"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(line).toEqual([expect.objectContaining({ level: 'info', channel: 'telegram', accounts: ['default', 'tg-shop'], accountsFile: good })]);
    for (const [name, secret] of Object.entries(SECRETS)) expect({ name, found: proc.output().includes(secret) }).toEqual({ name, found: false });
  });
});
