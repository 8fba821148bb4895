// The sandbox decision of `pnpm start`, in one place (used by scripts/start.mjs and tested from
// apps/admin/src/sandbox.attack.int.test.ts).
//
// Invariants:
// - a channel with any real credential is never faked;
// - the admin app (which runs the sandbox) never receives a real provider secret: it gets the
//   generated sandbox secrets under SANDBOX_* names and every real credential variable blanked;
// - sandbox data lives apart from real data: its own Redis key prefix (QUEUE_PREFIX) that also names
//   the faked channels, and its own data folder (.data/sandbox), so switching a channel to real
//   credentials starts clean and no leftover sandbox job is ever retried against a real API.
'use strict';
const { randomBytes } = require('node:crypto');
const { existsSync, mkdirSync, readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

/** Channels the sandbox can fake, with the variables that hold their real credentials. */
const FAKEABLE = {
  whatsapp: { label: 'WhatsApp', credentials: ['WHATSAPP_APP_SECRET', 'WHATSAPP_ACCESS_TOKEN', 'WHATSAPP_VERIFY_TOKEN'] },
  'wechat-kf': { label: 'WeChat', credentials: ['WECHAT_TOKEN', 'WECHAT_AESKEY', 'WECHAT_CORP_ID', 'WECHAT_SECRET'] },
  telegram: { label: 'Telegram', credentials: ['TELEGRAM_BOT_TOKEN', 'TELEGRAM_WEBHOOK_SECRET'] },
};
/** Real secrets of channels the sandbox never fakes (Chatwoot) and of the LLM: blanked for the admin app too. */
const OTHER_SECRETS = ['CHATWOOT_BOT_TOKEN', 'CHATWOOT_API_TOKEN', 'CHATWOOT_WEBHOOK_SECRET', 'OPENAI_API_KEY'];
/** Channels the sandbox never fakes, with the variables whose presence means they are configured. */
const NEVER_FAKED = { chatwoot: ['CHATWOOT_URL', 'CHATWOOT_BOT_TOKEN', 'CHATWOOT_API_TOKEN'] };

const isSet = (env, name) => typeof env[name] === 'string' && env[name].trim() !== '';

/** `on` / `off` / undefined (unset or not a recognised value). */
function sandboxSwitch(value) {
  const v = String(value ?? '').trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return 'on';
  if (['0', 'false', 'no', 'off'].includes(v)) return 'off';
  return undefined;
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const alnum = (random, n) => Array.from(random(n), (b) => ALNUM[b % ALNUM.length]).join('');

/**
 * Decides the sandbox from the environment (pure: no file or process access).
 *
 * - Nothing configured (no channel credentials at all) → every fakeable channel is faked.
 * - Some channel has real credentials → no sandbox, unless `SANDBOX=on`: then only the channels
 *   without any credential are faked, next to the real ones.
 * - `SANDBOX=off` or `NODE_ENV=production` → never.
 *
 * @param {Record<string, string | undefined>} env the environment (after `.env`)
 * @param {{ saved?: Record<string, string>, random?: (n: number) => Buffer, root?: string }} [opts]
 *   `saved`: values from an earlier `.data/sandbox/sandbox.env` (kept so restarts stay verifiable)
 */
function planSandbox(env, opts = {}) {
  const saved = opts.saved ?? {};
  const random = opts.random ?? randomBytes;
  const root = opts.root ?? process.cwd();
  const dataDir = join(root, '.data', 'sandbox');
  const file = join(dataDir, 'sandbox.env');
  const faked = Object.keys(FAKEABLE).filter((ch) => FAKEABLE[ch].credentials.every((v) => !isSet(env, v)));
  const real = Object.keys(FAKEABLE).filter((ch) => !faked.includes(ch));
  for (const [ch, vars] of Object.entries(NEVER_FAKED)) if (vars.some((v) => isSet(env, v))) real.push(ch);
  const asked = sandboxSwitch(env.SANDBOX);
  const off = (reason) => ({ enabled: false, reason, faked: [], real, file, dataDir, shared: { SANDBOX: 'off' }, admin: {} });

  if (asked === 'off') return off('SANDBOX=off');
  if (String(env.NODE_ENV ?? '').trim() === 'production') return off('NODE_ENV=production (the sandbox is for a local machine only)');
  if (faked.length === 0) return off('every channel the sandbox can fake has real credentials');
  if (real.length > 0 && asked !== 'on') return off(`real credentials are set (${real.join(', ')}); set SANDBOX=on to also fake ${faked.map((c) => FAKEABLE[c].label).join(' and ')}`);

  const keep = (name, make) => (typeof saved[name] === 'string' && saved[name].length > 0 ? saved[name] : make());
  const adminPort = isSet(env, 'ADMIN_PORT') ? env.ADMIN_PORT.trim() : '3000';
  const admin = `http://127.0.0.1:${adminPort}`;
  /** Generated secrets, persisted in sandbox.env. */
  const secrets = {};
  const shared = { SANDBOX: 'on' };
  const adminOnly = {};

  if (faked.includes('whatsapp')) {
    secrets.WHATSAPP_APP_SECRET = keep('WHATSAPP_APP_SECRET', () => `sandbox${random(16).toString('hex')}`);
    secrets.WHATSAPP_ACCESS_TOKEN = keep('WHATSAPP_ACCESS_TOKEN', () => `sandbox-${random(24).toString('hex')}`);
    secrets.WHATSAPP_VERIFY_TOKEN = keep('WHATSAPP_VERIFY_TOKEN', () => `sandbox-${random(8).toString('hex')}`);
    Object.assign(shared, {
      WHATSAPP_APP_SECRET: secrets.WHATSAPP_APP_SECRET,
      WHATSAPP_ACCESS_TOKEN: secrets.WHATSAPP_ACCESS_TOKEN,
      WHATSAPP_VERIFY_TOKEN: secrets.WHATSAPP_VERIFY_TOKEN,
      WHATSAPP_GRAPH_URL: `${admin}/sandbox/graph/v24.0`,
    });
    adminOnly.SANDBOX_WHATSAPP_APP_SECRET = secrets.WHATSAPP_APP_SECRET;
    adminOnly.SANDBOX_WHATSAPP_ACCESS_TOKEN = secrets.WHATSAPP_ACCESS_TOKEN;
    adminOnly.SANDBOX_WHATSAPP_INGRESS_URL = env.SANDBOX_WHATSAPP_INGRESS_URL || `http://127.0.0.1:${env.WHATSAPP_PORT || '3001'}`;
  }
  if (faked.includes('wechat-kf')) {
    secrets.WECHAT_TOKEN = keep('WECHAT_TOKEN', () => alnum(random, 24));
    secrets.WECHAT_AESKEY = keep('WECHAT_AESKEY', () => alnum(random, 43));
    secrets.WECHAT_CORP_ID = keep('WECHAT_CORP_ID', () => `wwsandbox${random(5).toString('hex')}`);
    secrets.WECHAT_SECRET = keep('WECHAT_SECRET', () => `sandbox${random(20).toString('hex')}`);
    Object.assign(shared, {
      WECHAT_TOKEN: secrets.WECHAT_TOKEN,
      WECHAT_AESKEY: secrets.WECHAT_AESKEY,
      WECHAT_CORP_ID: secrets.WECHAT_CORP_ID,
      WECHAT_SECRET: secrets.WECHAT_SECRET,
      WECHAT_API_URL: `${admin}/sandbox/wecom`,
    });
    adminOnly.SANDBOX_WECHAT_TOKEN = secrets.WECHAT_TOKEN;
    adminOnly.SANDBOX_WECHAT_AESKEY = secrets.WECHAT_AESKEY;
    adminOnly.SANDBOX_WECHAT_CORP_ID = secrets.WECHAT_CORP_ID;
    adminOnly.SANDBOX_WECHAT_SECRET = secrets.WECHAT_SECRET;
    adminOnly.SANDBOX_WECHAT_INGRESS_URL = env.SANDBOX_WECHAT_INGRESS_URL || `http://127.0.0.1:${env.WECHAT_PORT || '3002'}`;
  }

  if (faked.includes('telegram')) {
    // a bot token is `<bot id>:<secret>`; the bot id names the sandbox bot's conversations
    secrets.TELEGRAM_BOT_TOKEN = keep('TELEGRAM_BOT_TOKEN', () => `${7000000000 + (random(4).readUInt32BE(0) % 999999999)}:sandbox${random(16).toString('hex')}`);
    secrets.TELEGRAM_WEBHOOK_SECRET = keep('TELEGRAM_WEBHOOK_SECRET', () => `sandbox-${random(16).toString('hex')}`);
    Object.assign(shared, {
      TELEGRAM_BOT_TOKEN: secrets.TELEGRAM_BOT_TOKEN,
      TELEGRAM_WEBHOOK_SECRET: secrets.TELEGRAM_WEBHOOK_SECRET,
      TELEGRAM_API_URL: `${admin}/sandbox/telegram`,
      TELEGRAM_BOT_USERNAME: 'sandbox_bot',
    });
    adminOnly.SANDBOX_TELEGRAM_BOT_TOKEN = secrets.TELEGRAM_BOT_TOKEN;
    adminOnly.SANDBOX_TELEGRAM_WEBHOOK_SECRET = secrets.TELEGRAM_WEBHOOK_SECRET;
    adminOnly.SANDBOX_TELEGRAM_INGRESS_URL = env.SANDBOX_TELEGRAM_INGRESS_URL || `http://127.0.0.1:${env.TELEGRAM_PORT || '3004'}`;
  }

  // own key prefix, naming what is faked: a channel that turns real (or fake) starts under another prefix
  const base = isSet(env, 'QUEUE_PREFIX') ? env.QUEUE_PREFIX.trim() : 'gw';
  const allFaked = faked.length === Object.keys(FAKEABLE).length;
  shared.QUEUE_PREFIX = allFaked ? `${base}-sandbox` : `${base}-sandbox-${faked.join('-')}`;

  // the admin page is open (with a loopback-only Host check) only for a purely local playground
  let login;
  if (!isSet(env, 'ADMIN_USER') || !isSet(env, 'ADMIN_PASSWORD')) {
    if (real.length === 0 && !isSet(env, 'ADMIN_AUTH')) {
      shared.ADMIN_AUTH = 'off';
    } else {
      secrets.ADMIN_USER = keep('ADMIN_USER', () => 'admin');
      secrets.ADMIN_PASSWORD = keep('ADMIN_PASSWORD', () => random(12).toString('base64url'));
      shared.ADMIN_USER = secrets.ADMIN_USER;
      shared.ADMIN_PASSWORD = secrets.ADMIN_PASSWORD;
      login = { user: secrets.ADMIN_USER, password: secrets.ADMIN_PASSWORD };
    }
  }

  // the admin app never holds a real secret: blank (not delete, so no .env file fills them back in)
  for (const ch of Object.keys(FAKEABLE)) for (const v of FAKEABLE[ch].credentials) adminOnly[v] = '';
  for (const v of OTHER_SECRETS) adminOnly[v] = '';
  adminOnly.SANDBOX_AGENT_ONLINE = isSet(env, 'OPENAI_API_KEY') ? 'true' : 'false';

  return {
    enabled: true,
    reason: real.length > 0 ? `SANDBOX=on; real: ${real.join(', ')}` : 'no provider credentials',
    faked,
    real,
    labels: faked.map((c) => FAKEABLE[c].label),
    file,
    dataDir,
    adminPort,
    login,
    secrets,
    shared,
    admin: adminOnly,
  };
}

/** The environment of one app of `pnpm start` under `plan` (`base` already holds `plan.shared`). */
function envFor(plan, app, base) {
  return app === 'admin' ? { ...base, ...plan.shared, ...plan.admin } : { ...base, ...plan.shared };
}

/** Reads KEY=value lines (no shell expansion); {} when the file does not exist. */
function readEnvFile(file) {
  const out = {};
  if (!existsSync(file)) return out;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^\s*([A-Z0-9_]+)\s*=\s*(.*)\s*$/.exec(line);
    if (m) out[m[1]] = m[2].replace(/^["']|["']$/g, '');
  }
  return out;
}

/**
 * Plans the sandbox for `pnpm start`: reads the secrets kept in `<root>/.data/sandbox/sandbox.env`,
 * decides, persists the (new) secrets there (mode 0600) and applies `plan.shared` to `env`.
 */
function prepareSandbox(root, env = process.env) {
  const file = join(root, '.data', 'sandbox', 'sandbox.env');
  const saved = readEnvFile(file);
  const plan = planSandbox(env, { saved, root });
  Object.assign(env, plan.shared);
  if (!plan.enabled) return plan;
  mkdirSync(plan.dataDir, { recursive: true });
  const merged = { ...saved, ...plan.secrets };
  writeFileSync(
    file,
    '# Generated by `pnpm start` for the local sandbox. Not real credentials; delete .data/sandbox to start over.\n' +
      Object.entries(merged).map(([k, v]) => `${k}=${v}`).join('\n') +
      '\n',
    { mode: 0o600 },
  );
  return plan;
}

module.exports = { FAKEABLE, OTHER_SECRETS, planSandbox, envFor, prepareSandbox, readEnvFile, sandboxSwitch };
