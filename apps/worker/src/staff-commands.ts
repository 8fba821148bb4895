import { accountIdOf, conversationId, jobId, normalizeIdentifier, type ChannelId, type ConversationRef, type ConversationSignal, type InboundMessage, type PersonContext } from '@switchboard/core';
import type { StaffCommand } from '@switchboard/agent';
import { countAccountEvents, enqueueReply } from '@switchboard/queue';
import { agentFor } from './channels.js';
import type { WorkerDeps } from './deps.js';

/** A message of a staff member that is a command: `/name args…`. */
const COMMAND = /^\/([a-z]+)(?:@\S+)?(?:\s+(.*))?$/is;

const HELP: Readonly<Record<StaffCommand, string>> = {
  pause: '/pause <conversation id or phone> — the bot stays quiet in that conversation (a human takes over)',
  resume: '/resume <conversation id or phone> — the bot answers that conversation again',
  stats: '/stats — messages of the last hour on this account, conversations with a human now',
  help: '/help — this list',
};

/** A recorded conversation of the staff member's gateway account named by id or by the customer's phone / id. */
async function targetOf(deps: WorkerDeps, accountId: string, target: string): Promise<ConversationRef | undefined> {
  const db = deps.people?.db;
  if (!db) return undefined;
  const digits = normalizeIdentifier('phone', target);
  const candidates = [target, ...(digits ? [digits, `+${digits}`] : [])];
  const row = await db
    .selectFrom('rec_conversation')
    .select(['id', 'channel', 'account_id', 'provider_account', 'customer_id', 'thread_id'])
    .where('account_id', '=', accountId)
    .where((w) => w.or([w('id', '=', target), w('customer_id', 'in', candidates)]))
    .orderBy('last_message_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!row || !(row.channel in deps.channels)) return undefined;
  const ref: ConversationRef = {
    channel: row.channel as ChannelId,
    ...(row.account_id !== 'default' ? { accountId: row.account_id } : {}),
    account: row.provider_account,
    userId: row.customer_id,
    ...(row.thread_id ? { threadId: row.thread_id } : {}),
  };
  // the record must address the same conversation the pipeline keys (never a second one)
  return conversationId(ref) === row.id ? ref : undefined;
}

/** `/stats`: the account's messages of the last hour per channel (Redis counters) and conversations owned by a human (record). */
async function statsText(deps: WorkerDeps, accountId: string): Promise<string> {
  const lines: string[] = [];
  for (const channel of Object.keys(deps.channels) as ChannelId[]) {
    if (!deps.channels[channel].accounts.has(accountId)) continue;
    const [inbound, outbound] = await Promise.all([countAccountEvents(deps.redis, deps.prefix, channel, accountId, 'in', 60), countAccountEvents(deps.redis, deps.prefix, channel, accountId, 'out', 60)]);
    lines.push(`${deps.channels[channel].module.title}: ${inbound} in, ${outbound} out (last hour)`);
  }
  const db = deps.people?.db;
  if (db) {
    const human = await db.selectFrom('rec_conversation').select((eb) => eb.fn.countAll<string>().as('n')).where('account_id', '=', accountId).where('owner', '=', 'human').executeTakeFirst();
    const today = await db
      .selectFrom('rec_conversation')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('account_id', '=', accountId)
      .where('last_message_at', '>=', new Date(Date.now() - 24 * 3600_000))
      .executeTakeFirst();
    lines.push(`Conversations active in the last 24 h: ${Number(today?.n ?? 0)}; with a human now: ${Number(human?.n ?? 0)}`);
  }
  return lines.length ? lines.join('\n') : 'No figures yet.';
}

/** Runs one command; returns the answer to the staff member. */
async function runCommand(deps: WorkerDeps, m: InboundMessage, command: StaffCommand, arg: string, allowed: readonly StaffCommand[]): Promise<string> {
  const accountId = accountIdOf(m.conversation);
  if (command === 'help') return `Commands:\n${allowed.map((c) => HELP[c]).join('\n')}`;
  if (command === 'stats') return statsText(deps, accountId);
  if (!arg) return `Usage: ${HELP[command]}`;
  if (!deps.people) return 'Commands on other conversations need the data store (DATABASE_URL).';
  const target = await targetOf(deps, accountId, arg);
  if (!target) return `No conversation "${arg.slice(0, 60)}" on this account.`;
  const convId = conversationId(target);
  const signal = command === 'pause' ? 'human_took_over' : 'bot_resumed';
  const eventId = jobId('staff', command, convId, m.eventId);
  // the same signal the console and the providers' own events put on the inbound queue
  const event: ConversationSignal = { kind: 'signal', eventId, conversation: target, at: Date.now(), signal, detail: { reason: command === 'pause' ? 'paused by staff command' : 'resumed by staff command', source: 'staff_command' } };
  await deps.producers.enqueue('inbound', event, { jobId: eventId });
  deps.log.info('staff command', { command, conversation: convId, by: conversationId(m.conversation) });
  return command === 'pause' ? `Paused ${convId}: the bot stays quiet there until /resume.` : `Resumed ${convId}: the bot answers there again.`;
}

/**
 * Staff commands before the agent runs: a text message starting with `/` from a person whose role
 * has `commands` is handled by the gateway (never the model) and answered; for any other role it
 * stays a customer message. Returns the messages left for the agent.
 */
export async function handleStaffCommands(deps: WorkerDeps, messages: InboundMessage[], person: PersonContext | undefined): Promise<{ rest: InboundMessage[]; handled: number }> {
  const rest: InboundMessage[] = [];
  let handled = 0;
  for (const m of messages) {
    const agent = agentFor(deps, m.conversation);
    const allowed = agent.commandsOf(person);
    const match = m.content.type === 'text' && allowed.length > 0 ? COMMAND.exec(m.content.text.trim()) : null;
    if (!match) {
      rest.push(m);
      continue;
    }
    const name = (match[1] ?? '').toLowerCase();
    const command = allowed.find((c) => c === name);
    const text = command ? await runCommand(deps, m, command, (match[2] ?? '').trim(), allowed) : `Unknown command /${name.slice(0, 20)}. ${HELP.help}`;
    await enqueueReply(deps, m.conversation, { outboundId: jobId('cmd', conversationId(m.conversation), m.eventId), reply: { text }, origin: 'notice' });
    handled += 1;
  }
  return { rest, handled };
}
