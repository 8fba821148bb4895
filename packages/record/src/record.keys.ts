import { shortHash, type ChannelId } from '@switchboard/core';

/** Record id of a received message (idempotent across redeliveries of the same event). */
export const inboundRecordId = (eventId: string): string => `in:${eventId}`;

/** Record id of one sent part of an outbound reply (idempotent across retries of the job). */
export const outboundRecordId = (outboundId: string, part: number): string => `out:${outboundId}:${part}`;

/** Record id of one bot turn. */
export const turnRecordId = (conversationId: string, seq: number): string => `turn:${conversationId}:${seq}`;

/** Record id of a delivery status event. */
export const statusRecordId = (channel: ChannelId, eventId: string): string => `status:${channel}:${eventId}`;

/**
 * The erasure tombstone key of a customer (`rec_erasure.customer_hash`): a sha256 of the channel,
 * the gateway account and the channel's customer id (a leading `+` dropped, as the erasure matches
 * ids), never the id itself.
 */
export const erasedCustomerHash = (channel: string, accountId: string | undefined, customerId: string): string =>
  shortHash(`erased|${channel}|${accountId ?? 'default'}|${customerId.replace(/^\+/, '')}`, 64);
