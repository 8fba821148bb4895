import { randomBytes } from 'node:crypto';

/** A sandbox channel as the page names it. */
export type SandboxChannel = 'whatsapp' | 'wechat-kf' | 'telegram';

/** Who wrote a line of the sandbox transcript. */
export type SandboxAuthor = 'customer' | 'bot' | 'human' | 'system';

/** Media attached to a transcript line. */
export interface SandboxMedia {
  kind: string;
  /** Where the page can fetch it (customer uploads are served by the sandbox itself). */
  url?: string;
  mimeType?: string;
  filename?: string;
}

/** Job ids a customer message went through (what the page traces). */
export interface SandboxTraceIds {
  /** WeChat only: the `wechat-sync` job of the callback. */
  syncJobId?: string;
  /** The message's event id (its dedupe claim); the ingress accepts it straight into its mailbox. */
  eventId: string;
  /** When the webhook was posted. */
  postedAt: number;
  /** HTTP status the real ingress answered. */
  ingressStatus?: number;
  ingressMs?: number;
}

/** One line of a sandbox conversation. */
export interface SandboxLine {
  id: string;
  seq: number;
  author: SandboxAuthor;
  text: string;
  media?: SandboxMedia;
  at: number;
  /** Provider message id (customer wamid / msgid, or the fake's id of a sent message). */
  providerMessageId?: string;
  /** Customer messages: the jobs to trace. */
  trace?: SandboxTraceIds;
  /** Replies: the outbound job that sent it (when known). */
  outboundId?: string;
  /** WhatsApp: the business marked the message read / showed typing. */
  readAt?: number;
  /** Replies: when the (fake) provider accepted it; a human reply is shown to the customer only then. */
  deliveredAt?: number;
}

/** A stored media file (customer upload), served to the workers by the fake provider APIs. */
export interface StoredMedia {
  id: string;
  bytes: Buffer;
  mimeType: string;
  filename: string;
  sha256: string;
}

interface Conversation {
  channel: SandboxChannel;
  lines: SandboxLine[];
  updatedAt: number;
}

/** Limits that keep a long-running sandbox small. */
const MAX_CONVERSATIONS = 200;
const MAX_LINES = 500;
const MAX_MEDIA = 200;

/**
 * In-memory transcript of sandbox conversations (the customer's view), keyed by the gateway's
 * conversation id. The sandbox is a local tool in one admin process, so memory is the right store:
 * the real state (mailboxes, jobs, ownership) is in Redis and is read from there.
 */
export class SandboxStore {
  private readonly conversations = new Map<string, Conversation>();
  private readonly media = new Map<string, StoredMedia>();
  /** Outbound ids (and WeChat msgids) of replies typed by the sandbox's human agent. */
  private readonly humanOutbound = new Map<string, string>();
  private seq = 0;

  private conversation(conversationId: string, channel: SandboxChannel): Conversation {
    let c = this.conversations.get(conversationId);
    if (!c) {
      if (this.conversations.size >= MAX_CONVERSATIONS) {
        const oldest = [...this.conversations.entries()].sort((a, b) => a[1].updatedAt - b[1].updatedAt)[0];
        if (oldest) this.conversations.delete(oldest[0]);
      }
      c = { channel, lines: [], updatedAt: Date.now() };
      this.conversations.set(conversationId, c);
    }
    return c;
  }

  /** Appends a line; returns it. */
  add(conversationId: string, channel: SandboxChannel, line: Omit<SandboxLine, 'id' | 'seq'>): SandboxLine {
    const c = this.conversation(conversationId, channel);
    this.seq += 1;
    const full: SandboxLine = { id: `l${this.seq}${randomBytes(3).toString('hex')}`, seq: this.seq, ...line };
    c.lines.push(full);
    if (c.lines.length > MAX_LINES) c.lines.splice(0, c.lines.length - MAX_LINES);
    c.updatedAt = Date.now();
    return full;
  }

  /** Updates a line in place (trace status, read marks). */
  patch(conversationId: string, lineId: string, patch: Partial<SandboxLine>): void {
    const line = this.conversations.get(conversationId)?.lines.find((l) => l.id === lineId);
    if (line) Object.assign(line, patch);
  }

  /** Marks the customer message with this provider id read. */
  markRead(providerMessageId: string, at: number): void {
    for (const c of this.conversations.values()) {
      const line = c.lines.find((l) => l.providerMessageId === providerMessageId);
      if (line) {
        line.readAt ??= at;
        return;
      }
    }
  }

  lines(conversationId: string): SandboxLine[] {
    return this.conversations.get(conversationId)?.lines ?? [];
  }

  /** Remembers that `ids` (outbound id and its per-part provider ids) belong to a human reply. */
  markHuman(ids: string[], outboundId: string): void {
    for (const id of ids) this.humanOutbound.set(id, outboundId);
    if (this.humanOutbound.size > 5000) {
      const first = this.humanOutbound.keys().next().value;
      if (first !== undefined) this.humanOutbound.delete(first);
    }
  }

  /**
   * Records that the provider accepted a part of a human reply: the line typed by the agent gets
   * its delivery time. Returns false when `id` is not a human reply's.
   */
  deliverHuman(conversationId: string, id: string | undefined, providerMessageId: string, at: number): boolean {
    const outboundId = this.humanOutboundFor(id);
    if (!outboundId) return false;
    const line = this.conversations.get(conversationId)?.lines.find((l) => l.author === 'human' && l.outboundId === outboundId);
    if (!line) return false;
    line.deliveredAt ??= at;
    line.providerMessageId ??= providerMessageId;
    return true;
  }

  /**
   * Like {@link deliverHuman} for a provider whose sends carry no id of ours (Telegram): the oldest
   * undelivered human line of the conversation with this text.
   */
  deliverHumanByText(conversationId: string, text: string, providerMessageId: string, at: number): boolean {
    const line = this.conversations.get(conversationId)?.lines.find((l) => l.author === 'human' && l.deliveredAt === undefined && l.text.trim() === text.trim());
    if (!line) return false;
    line.deliveredAt = at;
    line.providerMessageId ??= providerMessageId;
    return true;
  }

  /** The human reply's outbound id when `id` is one of its ids. */
  humanOutboundFor(id: string | undefined): string | undefined {
    return id === undefined ? undefined : this.humanOutbound.get(id);
  }

  putMedia(m: StoredMedia): void {
    this.media.set(m.id, m);
    if (this.media.size > MAX_MEDIA) {
      const first = this.media.keys().next().value;
      if (first !== undefined) this.media.delete(first);
    }
  }

  getMedia(id: string): StoredMedia | undefined {
    return this.media.get(id);
  }
}
