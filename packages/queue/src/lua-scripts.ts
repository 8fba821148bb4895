import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RedisClient } from './redis.js';

/**
 * The gateway's Redis Lua scripts, one per file in `scripts/` (copied next to the compiled code by
 * the build). A file is named `<name>-<number of keys>.lua`, as BullMQ's `src/commands` are, and
 * starts with a header listing its KEYS, ARGV and output. `--- @include "<name>"` pulls in
 * `scripts/includes/<name>.lua`. {@link loadScripts} registers every script once per connection
 * with `defineCommand`, so calls go out as EVALSHA (ioredis sends the text only after a NOSCRIPT).
 */

type Arg = string | number;

/** The registered commands (prefixed `sb` so they never clash with BullMQ's on a shared connection). */
export interface ScriptCommands {
  sbMailboxAccept(...a: [seen: string, mailbox: string, turn: string, eventJson: string, dedupeTtlSec: Arg, nowMs: Arg, staleRunMs: Arg, stateTtlSec: Arg, append: 0 | 1]): Promise<[number, number]>;
  sbCustomerAccept(...a: [seen: string, mailbox: string, turn: string, contact: string, stats: string, accountStats: string, statsAccounts: string, eventJson: string, dedupeTtlSec: Arg, nowMs: Arg, staleRunMs: Arg, stateTtlSec: Arg, refJson: string, sentAtMs: Arg, referral: '1' | '', contactTtlSec: Arg, accountMember: string, statsTtlSec: Arg]): Promise<[number, number]>;
  sbContactNote(...a: [contact: string, refJson: string, sentAtMs: Arg, referral: '1' | '', ttlSec: Arg]): Promise<number>;
  sbMailboxBegin(...a: [mailbox: string, turn: string, seq: Arg, nowMs: Arg, debounceMs: Arg, maxWaitMs: Arg]): Promise<[string, number, ...string[]]>;
  sbMailboxFinish(...a: [mailbox: string, turn: string, seq: Arg]): Promise<number>;
  sbMailboxAbandon(...a: [mailbox: string, turn: string, seq: Arg]): Promise<number>;
  sbMailboxReplace(...a: [seen: string, mailbox: string, turn: string, index: Arg, expectedJson: string, newJson: string, dedupeTtlSec: Arg, nowMs: Arg]): Promise<number>;
  sbDeliveryUpdate(...a: [delivery: string, status: string, rank: Arg, atMs: Arg, errorJson: string, ttlSec: Arg]): Promise<number>;
  sbMemoryAppend(...a: [memory: string, turnId: string, turnJson: string, cap: Arg, ttlSec: Arg]): Promise<[number, number, number]>;
  sbRateDecide(...a: [decision: string, counter: string, notice: string, points: Arg, windowSec: Arg, decisionTtlSec: Arg]): Promise<string>;
  sbAgentContext(...a: [memory: string, summary: string, profile: string, failures: string, turns: Arg, readProfile: '1' | '']): Promise<[string | null, string | null, number, ...string[]]>;
  sbDeliverySent(...a: [delivery: string, outboundId: string, part: Arg, conversationId: string, atMs: Arg, ttlSec: Arg]): Promise<number>;
  sbOutboundProgress(...a: [outbound: string, ttlSec: Arg, ...fields: Arg[]]): Promise<number>;
  sbChannelEventCount(...a: [total: string, own: string, accounts: string, n: Arg, nowMs: Arg, member: string, ttlSec: Arg]): Promise<number>;
  sbFailureRecord(...a: [failures: string, turnField: string, windowSec: Arg]): Promise<number>;
  sbUnansweredRecord(...a: [questions: string, details: string, id: string, nowMs: Arg, firstJson: string, turnId: string, channel: string, max: Arg, ttlSec: Arg]): Promise<number>;
  sbCompareAndDelete(...a: [key: string, expected: string]): Promise<number>;
  sbLockRenew(...a: [lock: string, owner: string, ttlMs: Arg]): Promise<number>;
  sbPartAttempt(...a: [outbound: string, jobLock: string, index: Arg, atMs: Arg, token: string, ttlSec: Arg]): Promise<number>;
  sbSendSlot(...a: [rate: string, slot: string, nowMs: Arg, intervalMs: Arg, burstMs: Arg, slotTtlMs: Arg]): Promise<number>;
  sbHoldSender(...a: [rate: string, nowMs: Arg, untilMs: Arg, burstMs: Arg]): Promise<number>;
  sbHeldAdd(...a: [index: string, state: string, outbound: string, due: string, outboundId: string, entryJson: string, order: Arg, fromPart: Arg, max: Arg, ttlMs: Arg, keyTtlSec: Arg, conversationId: string, outboundTtlSec: Arg]): Promise<[number, number]>;
  sbHeldRelease(...a: [index: string, state: string, due: string, tag: string, conversationId: string]): Promise<[number, string]>;
  sbHeldExpire(...a: [index: string, state: string, due: string, conversationId: string, nowMs: Arg]): Promise<string[]>;
  sbReplyOrder(...a: [lastReply: string, outbound: string, outboundId: string, lastTtlSec: Arg, outboundTtlSec: Arg]): Promise<string>;
  sbWechatSyncAcquire(...a: [lock: string, pending: string, watcher: string, owner: string, lockMs: Arg, token: string, jobKey: string, pendingTtlMs: Arg]): Promise<[number, number?]>;
  sbWechatSyncRecheck(...a: [lock: string, pending: string, watcher: string, owner: string, lockMs: Arg, token: string, jobKey: string, pendingTtlMs: Arg]): Promise<[number, number?]>;
  sbApiCallbackClaim(...a: [callbacks: string, status: string, rank: Arg, jobJson: string, ttlSec: Arg]): Promise<[number, ...string[]]>;
  sbOwnerHuman(...a: [owner: string, owners: string, resumeDue: string, conversationId: string, recordJson: string, nowMs: Arg, untilMs: Arg, ttlSec: Arg]): Promise<number>;
  sbOwnerResume(...a: [owner: string, owners: string, resumeDue: string, conversationId: string, nowMs: Arg]): Promise<[number, string?]>;
  sbWechatSyncFinishRound(...a: [lock: string, pending: string, owner: string, lockMs: Arg, version: Arg]): Promise<[number, number?, string?]>;
}

/** A connection with every gateway script registered. */
export type ScriptedRedis = RedisClient & ScriptCommands;

/** One script file, parsed. */
export interface ScriptSource {
  /** Command name, e.g. `sbMailboxAccept` for `mailboxAccept-3.lua`. */
  readonly command: keyof ScriptCommands;
  readonly numberOfKeys: number;
  /** The script with its includes resolved. */
  readonly lua: string;
  readonly file: string;
}

/** Where the `.lua` files are: next to this module, in `src` under test and in `dist` when built. */
export const SCRIPTS_DIR = join(__dirname, 'scripts');

const INCLUDE = /^--- @include "([A-Za-z0-9_-]+)"\s*$/gm;

let cached: readonly ScriptSource[] | undefined;

/** Reads and parses every script file (once per process). */
export function scriptSources(): readonly ScriptSource[] {
  if (cached) return cached;
  const sources: ScriptSource[] = [];
  for (const file of readdirSync(SCRIPTS_DIR).sort()) {
    const m = /^([a-z][A-Za-z0-9]*)-(\d+)\.lua$/.exec(file);
    if (!m?.[1] || !m[2]) continue;
    const text = readFileSync(join(SCRIPTS_DIR, file), 'utf8');
    const lua = text.replace(INCLUDE, (_line, name: string) => readFileSync(join(SCRIPTS_DIR, 'includes', `${name}.lua`), 'utf8'));
    const command = `sb${m[1].charAt(0).toUpperCase()}${m[1].slice(1)}` as keyof ScriptCommands;
    sources.push({ command, numberOfKeys: Number(m[2]), lua, file });
  }
  cached = sources;
  return sources;
}

const LOADED = Symbol.for('switchboard.scripts.loaded');

/**
 * Registers every gateway script on `redis` (once per connection; later calls are free) and
 * returns the same connection, typed with the script commands.
 */
export function loadScripts(redis: RedisClient): ScriptedRedis {
  const r = redis as ScriptedRedis & { [LOADED]?: true };
  if (r[LOADED]) return r;
  for (const s of scriptSources()) r.defineCommand(s.command, { numberOfKeys: s.numberOfKeys, lua: s.lua });
  r[LOADED] = true;
  return r;
}
