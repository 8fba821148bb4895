import axios, { type AxiosInstance } from 'axios';
import { DelayedError, type Job, type Worker } from 'bullmq';
import { keepAliveAgents, type ApiCallbackJob } from '@switchboard/core';
import { createWorker, earlierApiCallbacksPending, settleApiCallback } from '@switchboard/queue';
import type { ApiCallbackSettings } from '../api-callback-settings.js';
import { API_CALLBACK_SIGNATURE_HEADER, apiCallbackBody, signApiCallback } from '../api-callback-signature.js';
import type { WorkerDeps } from '../deps.js';

/** Callbacks wait on the operator's receiver; a few in flight keep one instance comfortable. */
const MAX_CALLBACK_CONCURRENCY = 16;
/**
 * How long a callback waits for the message's earlier callbacks (a `delivered` behind a `sent` the
 * receiver refused): longer than their whole retry schedule (at most 17 min plus timeouts), so
 * statuses arrive in order unless an earlier one was deleted by hand.
 */
const ORDER_WAIT_MAX_MS = 25 * 60_000;
/** Longest pause between checks while waiting for earlier callbacks. */
const ORDER_POLL_MAX_MS = 5000;
/** Bytes of a receiver's answer read at most (it is not used). */
const MAX_ANSWER_BYTES = 64 * 1024;

/** An HTTP client for the receiver: no redirects (a 3xx is not a 2xx), any status answered. */
function callbackClient(settings: ApiCallbackSettings): AxiosInstance {
  return axios.create({
    timeout: settings.timeoutMs,
    maxRedirects: 0,
    maxContentLength: MAX_ANSWER_BYTES,
    responseType: 'text',
    // the body is signed as sent: never re-serialized
    transformRequest: [(data: unknown) => data],
    validateStatus: () => true,
    headers: { 'User-Agent': 'switchboard-gateway/0.1', 'Content-Type': 'application/json' },
    ...keepAliveAgents(MAX_CALLBACK_CONCURRENCY),
  });
}

/** Posts one callback; resolves with the receiver's status code, rejects when there is no answer (timeout, refused). */
export async function postApiCallback(http: AxiosInstance, settings: ApiCallbackSettings, job: ApiCallbackJob): Promise<number> {
  const body = apiCallbackBody(job);
  const res = await http.post(settings.url, body, { headers: { [API_CALLBACK_SIGNATURE_HEADER]: signApiCallback(body, settings.secret) } });
  return res.status;
}

async function processCallback(deps: WorkerDeps, settings: ApiCallbackSettings, http: AxiosInstance, data: ApiCallbackJob, job: Job, token: string | undefined): Promise<string> {
  const earlier = await earlierApiCallbacksPending(deps.redis, deps.keys, data);
  if (earlier.length > 0 && Date.now() - job.timestamp < ORDER_WAIT_MAX_MS) {
    // not an attempt: a delayed job keeps its attempts
    await job.moveToDelayed(Date.now() + Math.min(250 * 2 ** Math.min(job.attemptsStarted, 5), ORDER_POLL_MAX_MS), token);
    throw new DelayedError();
  }
  let status: number;
  try {
    status = await postApiCallback(http, settings, data);
  } catch (err) {
    deps.metrics.apiCallbacks.inc({ outcome: 'error' });
    // the job's failure reason is this message; the axios error (request config, headers) is only its cause
    throw new Error(`callback not answered: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (status < 200 || status > 299) {
    deps.metrics.apiCallbacks.inc({ outcome: 'error' });
    throw new Error(`callback answered ${status}`);
  }
  await settleApiCallback(deps.redis, deps.keys, data);
  deps.metrics.apiCallbacks.inc({ outcome: 'delivered' });
  return `delivered ${status}`;
}

/**
 * The `api-callbacks` role: posts the status callbacks of API messages to API_CALLBACK_URL, signed,
 * retried with exponential backoff (catalog `api-callbacks`); a callback given up stays in the
 * queue's failed set (Bull Board) and no longer holds back the message's later callbacks.
 * Nothing to do (no consumer) without API_CALLBACK_URL.
 */
export function startApiCallbacksRole(deps: WorkerDeps): Worker[] {
  const settings = deps.apiCallbacks;
  if (!settings) return [];
  const http = callbackClient(settings);
  return [
    createWorker('api-callbacks', (data, job, token) => processCallback(deps, settings, http, data, job, token), {
      connection: deps.queueRedis,
      prefix: deps.prefix,
      log: deps.log,
      concurrency: Math.min(deps.settings.concurrency, MAX_CALLBACK_CONCURRENCY),
      lockDurationMs: Math.max(deps.settings.lockDurationMs, settings.timeoutMs * 2),
      onFinalFailure: (job, err) => {
        const data = job.data as ApiCallbackJob;
        deps.metrics.apiCallbacks.inc({ outcome: 'failed' });
        deps.log.warn('api callback given up', { id: data.id, status: data.status, attempts: job.attemptsMade, reason: err.message });
        void settleApiCallback(deps.redis, deps.keys, data).catch(() => undefined);
      },
    }),
  ];
}
