import { DelayedError, type Job, type Worker } from 'bullmq';
import {
  conversationId,
  handoffReasonOf,
  InboundMessage,
  accountIdOf,
  jobId,
  type ConversationRef,
  type RecordEntry,
  type TurnJob,
} from '@switchboard/core';
import { renderContent, turnLanguage, type AgentInput, type AgentOutput } from '@switchboard/agent';
import { createWorker, enqueueReply, turnOutboundId } from '@switchboard/queue';
import { adapterFor, admission, agentFor, mirrorTarget } from '../channels.js';
import { enqueueMirror as mirror } from '../mirror-jobs.js';
import type { WorkerDeps } from '../deps.js';
import { ownerOf, scheduleTurn, setOwner } from '../schedule.js';
import { mediaTextOf, ownershipEntry, receivedMessageEntry, record as recordFacts, turnEntry } from '../recording.js';
import { inboundRecordId, turnRecordId } from '@switchboard/record';
import { handleOptOutKeywords } from '../opt-out.js';
import { applyBusinessHours } from '../business-hours.js';
import { humanOwnershipTerm } from '../handoff-expiry.js';
import { releaseHeldReplies } from '../held-replies.js';
import { hasMirrorMedia, mediaNoteText, mirrorMediaOf } from '../mirror-media.js';
import { linkVerified, personOf } from '../people.js';
import { handleStaffCommands } from '../staff-commands.js';

/** What a turn stores before it enqueues its reply, so a retried turn never asks the LLM twice. */
interface TurnRecord {
  output: AgentOutput;
  outboundId: string;
  /** How long the agent took and when it answered (for the record). */
  latencyMs?: number;
  at?: number;
  /** What the media step read out of the customer's media (transcripts, document text) by event id, for the record. */
  mediaTexts?: Record<string, string>;
}

const RECORD_TTL_SEC = 7 * 24 * 3600;

/** What the media step read out of the customer's files, as private notes beside their mirrored messages (`<eventId>#note`). */
async function mirrorMediaNotes(deps: WorkerDeps, messages: readonly InboundMessage[], texts: Readonly<Record<string, string>> | undefined): Promise<void> {
  if (!texts) return;
  for (const m of messages) {
    const text = texts[m.eventId];
    if (!text || !hasMirrorMedia(m) || !mirrorTarget(deps, m.conversation)?.account.mirrorsMediaNotes) continue;
    await mirror(deps, m.conversation, 'note', `${m.eventId}#note`, mediaNoteText(m.content, text));
  }
}

/** The turn's entry (and its handoff) for the record. */
function turnFacts(deps: WorkerDeps, ref: ConversationRef, seq: number, turn: TurnRecord, at: number): RecordEntry[] {
  const entries: RecordEntry[] = [turnEntry(ref, seq, turn.output, turn.latencyMs ?? 0, at, deps.prices)];
  if (turn.output.handoff) entries.push(ownershipEntry(`handoff-${conversationId(ref)}-${seq}`, ref, 'human', turn.output.handoff.reason, at));
  return entries;
}

/** The media texts of the messages the media step read, by event id. */
function mediaTextsOf(messages: readonly InboundMessage[]): Record<string, string> | undefined {
  const texts = Object.fromEntries(messages.flatMap((m) => {
    const text = mediaTextOf(m);
    return text ? [[m.eventId, text] as const] : [];
  }));
  return Object.keys(texts).length > 0 ? texts : undefined;
}

/** Adds the media texts (transcript, document text) to the customer messages' entries of the record. */
function addMediaTexts(facts: RecordEntry[], texts: Readonly<Record<string, string>> | undefined): void {
  if (!texts) return;
  const byRecordId = new Map(Object.entries(texts).map(([eventId, text]) => [inboundRecordId(eventId), text]));
  facts.forEach((e, i) => {
    const mediaText = e.kind === 'message' ? byRecordId.get(e.id) : undefined;
    if (e.kind === 'message' && mediaText) facts[i] = { ...e, mediaText };
  });
}

/**
 * Runs the turn and records its facts: every customer message passes here (the ingress accepts
 * most of them straight into the mailbox), recorded in one job with the turn's own entries, also
 * when the turn ends early or fails.
 */
async function runTurn(deps: WorkerDeps, data: TurnJob, messages: InboundMessage[]): Promise<string> {
  const customer = messages.filter((m) => m.author === 'customer');
  if (customer.length === 0) return 'empty';
  const facts: RecordEntry[] = customer.map(receivedMessageEntry);
  // the customer wrote, so their window is open: replies held while it was closed go first, in
  // order, before anything this turn answers (idempotent per turn)
  await releaseHeldReplies(deps, data.ref, data.seq);
  try {
    // STOP / START are handled here, never by the agent; the customer's other messages are answered
    const { rest, outcome } = await handleOptOutKeywords(deps, customer, facts);
    if (rest.length === 0) return outcome ?? 'empty';
    return await answerTurn(deps, data, rest, facts);
  } finally {
    await recordFacts(deps, facts);
  }
}

/** Produces (or recovers) the turn's reply and enqueues it; returns the outcome label. Adds the turn's facts for the record to `facts`. */
async function answerTurn(deps: WorkerDeps, data: TurnJob, received: InboundMessage[], facts: RecordEntry[]): Promise<string> {
  let customer = received;
  const { ref, conversationId: convId, seq } = data;
  for (const m of customer) {
    const files = mirrorMediaOf(m.content);
    await mirror(deps, m.conversation, 'incoming', m.eventId, files ? files.caption : renderContent(m.content), undefined, files?.media);
  }
  const latestRef = customer[customer.length - 1]?.conversation ?? ref;

  if ((await ownerOf(deps, convId)) === 'human') {
    // no agent turn: the media is read for the humans' private notes alone (when their mirror wants them)
    const withMedia = customer.filter((m) => hasMirrorMedia(m) && mirrorTarget(deps, m.conversation)?.account.mirrorsMediaNotes);
    if (withMedia.length > 0 && deps.mediaStep) await mirrorMediaNotes(deps, customer, mediaTextsOf(await deps.mediaStep(withMedia, latestRef)));
    return 'human_owned';
  }

  const admitted = admission(deps, latestRef);
  if (!admitted.allowed) {
    deps.log.info(admitted.reason, { channel: ref.channel, conversation: convId });
    if (admitted.refusal && (await deps.mailbox.claim(`refused-${convId}`, 365 * 24 * 3600))) {
      const outboundId = jobId('refuse', convId);
      await enqueueReply(deps, latestRef, { outboundId, reply: admitted.refusal, origin: 'notice' });
    }
    return 'not_allowed';
  }

  const adapter = adapterFor(deps, ref);
  const agent = agentFor(deps, ref);
  // who the sender is comes from the directory (the provider's ids), never from the message text
  const person = await personOf(deps, latestRef);
  const access = agent.accessOf(person);
  if (!access.allowed) {
    deps.log.info(access.reason, { channel: ref.channel, conversation: convId });
    return 'not_allowed';
  }
  const commands = await handleStaffCommands(deps, customer, person);
  if (commands.rest.length === 0) return 'command';
  customer = commands.rest;
  const recordKey = deps.keys.reply(convId, seq);
  const stored = await deps.redis.get(recordKey);
  // business hours only for a turn that has not answered yet (a retried one keeps its stored reply)
  if (!stored && (await applyBusinessHours(deps, latestRef, convId, customer, facts)) === 'queued') return 'outside_hours';
  let record: TurnRecord | undefined;
  let rememberInput: AgentInput | undefined;
  if (stored) {
    record = JSON.parse(stored) as TurnRecord;
  } else {
    const last = customer[customer.length - 1];
    // the typing indicator goes out while the media step and the agent work (one provider round trip
    // off the reply's path); it is awaited before the reply is stored, so it always comes first
    const typing = adapter?.turnStarted?.(latestRef, last?.providerMessageId).catch((err: unknown) => {
      deps.log.warn('typing indicator failed', { channel: ref.channel, err: err instanceof Error ? err.message : String(err) });
    });
    // media (voice → transcript, image → vision input, document → text) is read before the agent runs;
    // a media failure is told to the agent through `enrichment.error`, never dropped
    const messages = deps.mediaStep ? await deps.mediaStep(customer, latestRef) : customer;
    const input: AgentInput = { conversationId: convId, ref: latestRef, messages, now: Date.now(), ...(person ? { person } : {}) };
    const asked = Date.now();
    const output = await agent.respond(input);
    await typing;
    const outboundId = turnOutboundId(convId, seq);
    const mediaTexts = mediaTextsOf(messages);
    const candidate: TurnRecord = { output, outboundId, latencyMs: Date.now() - asked, at: Date.now(), ...(mediaTexts ? { mediaTexts } : {}) };
    // SET NX: if a concurrent or earlier run of this turn stored a reply, that one wins
    if ((await deps.redis.set(recordKey, JSON.stringify(candidate), 'EX', RECORD_TTL_SEC, 'NX')) === 'OK') {
      record = candidate;
      rememberInput = input;
    } else {
      record = JSON.parse((await deps.redis.get(recordKey)) ?? JSON.stringify(candidate)) as TurnRecord;
    }
  }

  const { output } = record;
  // a retried turn links again: the link is idempotent
  if (output.verified) await linkVerified(deps, latestRef, output.verified);
  const language = turnLanguage(customer);
  // kept with the stored reply, so a retried turn (which does not read the media again) records them too
  addMediaTexts(facts, record.mediaTexts);
  if (output.reply && (output.reply.text.trim() || output.reply.options?.length || output.reply.media?.length || output.reply.template)) {
    await enqueueReply(deps, latestRef, {
      outboundId: record.outboundId,
      reply: output.reply,
      // the handoff message itself must go out even though the conversation is now human-owned
      origin: output.handoff ? 'notice' : 'agent',
      receivedAt: Math.min(...customer.map((m) => m.receivedAt)),
      turnId: turnRecordId(convId, seq),
      ...(customer.at(-1)?.providerMessageId ? { inReplyTo: customer.at(-1)?.providerMessageId } : {}),
    });
    await mirror(deps, latestRef, 'outgoing', record.outboundId, output.reply.text, language ? { language } : undefined);
  }
  // after the reply is on its way; a retried run enqueues the same job ids (nothing twice)
  await mirrorMediaNotes(deps, customer, record.mediaTexts);
  // recorded again by a retried run (same ids): the record keeps it once
  facts.push(...turnFacts(deps, latestRef, seq, record, record.at ?? Date.now()));
  // memory after the reply is on its way: a memory summary call must not delay the customer
  if (rememberInput) await agent.remember(rememberInput, output);
  if (output.handoff) {
    await setOwner(deps, convId, 'human', output.handoff.reason, ref.accountId, humanOwnershipTerm(deps, latestRef));
    // the canonical reason: a bounded label set, the same on every channel
    deps.metrics.handoffs.inc({ channel: ref.channel, reason: handoffReasonOf(output.handoff.reason) });
    if (adapter?.handoff && (await deps.mailbox.claim(`handoff-${convId}-${seq}`))) await adapter.handoff(latestRef, output.handoff);
    await mirror(deps, latestRef, 'handoff', `handoff-${convId}-${seq}`, `${output.handoff.reason}\n\n${output.handoff.summary}`, { handoff: output.handoff, ...(language ? { language } : {}) });
  }
  return output.source;
}

/** Processes one turn job: debounce, run, finish, schedule the next turn. */
export async function processTurn(deps: WorkerDeps, data: TurnJob, job: Job, token: string | undefined): Promise<string> {
  const { conversationId: convId, seq } = data;
  const begin = await deps.mailbox.begin(convId, seq);
  if (begin.state === 'wait') {
    await job.moveToDelayed(begin.dueAt, token);
    throw new DelayedError();
  }
  if (begin.state === 'busy') {
    await job.moveToDelayed(Date.now() + 1000, token);
    throw new DelayedError();
  }
  if (begin.state === 'stale') {
    // a duplicate or superseded job; make sure the real pending turn still has its job
    if (begin.pendingSeq > 0 && begin.pendingSeq !== seq) await scheduleTurn(deps, convId, data.ref, begin.pendingSeq);
    return 'stale';
  }
  const started = Date.now();
  deps.metrics.turnsInFlight.inc();
  try {
    const messages = begin.messages
      .flatMap((r) => {
        const parsed = InboundMessage.safeParse(JSON.parse(r));
        return parsed.success ? [parsed.data] : [];
      })
      // concurrent inbound consumers can append a conversation's messages out of order: the
      // customer's order is the provider's timestamp (whole seconds), then arrival at the gateway
      .sort((a, b) => a.sentAt - b.sentAt || a.receivedAt - b.receivedAt);
    const outcome = await runTurn(deps, data, messages);
    const next = await deps.mailbox.finish(convId, seq);
    if (next > 0) await scheduleTurn(deps, convId, data.ref, next);
    deps.metrics.turns.inc({ channel: data.ref.channel, outcome: 'done', source: outcome, account: accountIdOf(data.ref) });
    deps.metrics.turnSeconds.observe({ channel: data.ref.channel }, (Date.now() - started) / 1000);
    return outcome;
  } finally {
    deps.metrics.turnsInFlight.dec();
  }
}

/** The `agent` role: consumes `turn` jobs. */
export function startTurnRole(deps: WorkerDeps): Worker[] {
  return [
    createWorker('turn', (data, job, token) => processTurn(deps, data, job, token), {
      connection: deps.queueRedis,
      prefix: deps.prefix,
      log: deps.log,
      concurrency: deps.settings.concurrency,
      lockDurationMs: deps.settings.lockDurationMs,
      // a turn that failed for good must not hold its conversation: release it and schedule the
      // next turn with the same messages (they only leave the mailbox when a turn finishes)
      onFinalFailure: (job) => {
        const data = job.data as TurnJob;
        void deps.mailbox
          .abandon(data.conversationId, data.seq)
          .then((next) => (next > 0 ? scheduleTurn(deps, data.conversationId, data.ref, next) : undefined))
          .catch((err: unknown) => deps.log.error('could not release a failed turn', { conversation: data.conversationId, err: err instanceof Error ? err.message : String(err) }));
      },
    }),
  ];
}

