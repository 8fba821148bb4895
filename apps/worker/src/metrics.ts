import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The worker's Prometheus metrics. */
export function createWorkerMetrics(registry: Registry) {
  const registers = [registry];
  return {
    inbound: new Counter({ name: 'sb_worker_inbound_total', help: 'Inbound events handled, by kind and outcome', labelNames: ['channel', 'kind', 'outcome'], registers }),
    turns: new Counter({ name: 'sb_turns_total', help: 'Agent turns by outcome and reply source', labelNames: ['channel', 'outcome', 'source', 'account'], registers }),
    turnSeconds: new Histogram({ name: 'sb_turn_seconds', help: 'Turn duration (start to reply enqueued)', labelNames: ['channel'], buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60], registers }),
    turnsInFlight: new Gauge({ name: 'sb_turns_in_flight', help: 'Turns running in this process', registers }),
    sends: new Counter({ name: 'sb_outbound_sends_total', help: 'Outbound message parts by channel, result/error code and gateway account', labelNames: ['channel', 'result', 'code', 'account'], registers }),
    sendDelays: new Counter({ name: 'sb_outbound_send_delays_total', help: "Reply parts held back by their sender's send rate (per account; WhatsApp per phone number)", labelNames: ['channel', 'account'], registers }),
    sendSeconds: new Histogram({ name: 'sb_gateway_latency_seconds', help: 'Customer message received to first reply part accepted by the provider', labelNames: ['channel'], buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30], registers }),
    heldReplies: new Counter({
      name: 'sb_held_replies_total',
      help: "Replies held while the customer's free-form window was closed, by outcome (held, delivered = released when the customer wrote, expired)",
      labelNames: ['channel', 'outcome'],
      registers,
    }),
    handoffs: new Counter({ name: 'sb_handoffs_total', help: 'Conversations handed to humans', labelNames: ['channel', 'reason'], registers }),
    unsupported: new Counter({
      name: 'sb_unsupported_events_total',
      help: 'Provider events the gateway acknowledged without answering (unsupported content, deleted messages, echoes), by provider type and whether the customer wrote it',
      labelNames: ['channel', 'provider_type', 'customer_content'],
      registers,
    }),
    recordEnqueueFailures: new Counter({ name: 'sb_record_enqueue_failures_total', help: 'Facts for the record that could not be enqueued (the reply went on; the fact is not recorded)', registers }),
    apiCallbacks: new Counter({
      name: 'sb_api_callbacks_total',
      help: 'Status callbacks of API messages to API_CALLBACK_URL: enqueued (a status change noticed), delivered (2xx), error (an attempt answered non-2xx or not at all; retried), failed (given up), enqueue_failed',
      labelNames: ['outcome'],
      registers,
    }),
    broadcastRecipients: new Counter({ name: 'sb_broadcast_recipients_total', help: 'Broadcast recipients by outcome: fed (queued for sending), sent, skipped_<reason>, failed_<reason>, cancelled', labelNames: ['channel', 'result'], registers }),
    broadcastHeld: new Counter({ name: 'sb_broadcast_feed_yields_total', help: 'Broadcast feeding ticks that fed nothing because replies were waiting or the sender had no room beyond the broadcast share', labelNames: ['channel'], registers }),
    statuses: new Counter({ name: 'sb_delivery_statuses_total', help: 'Delivery statuses by status and whether applied', labelNames: ['channel', 'status', 'applied'], registers }),
    knowledgeDocuments: new Counter({
      name: 'sb_knowledge_documents_total',
      help: 'Knowledge ingestion jobs by outcome (ready, unchanged, pages, failed, missing, retry = a passing failure the queue retries) and job reason (new, recheck, reingest)',
      labelNames: ['outcome', 'reason'],
      registers,
    }),
    knowledgeChunks: new Counter({ name: 'sb_knowledge_chunks_written_total', help: 'Knowledge chunks written by ingestion (documents that became ready)', registers }),
    knowledgeEmbedded: new Counter({ name: 'sb_knowledge_chunks_embedded_total', help: 'Chunk texts sent to the embeddings endpoint by ingestion (cache misses)', registers }),
    knowledgeSeconds: new Histogram({
      name: 'sb_knowledge_ingest_seconds',
      help: 'Duration of one knowledge ingestion job (fetch, extract, chunk, embed, store), by outcome',
      labelNames: ['outcome'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    }),
  };
}
export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
