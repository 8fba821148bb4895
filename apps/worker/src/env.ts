import { baseEnv, csv, int, port } from '@switchboard/core';
import { whatsappEnv } from '@switchboard/channel-whatsapp/outbound';
import { agentEnv } from '@switchboard/agent';
import { chatwootEnv } from '@switchboard/channel-chatwoot/outbound';
import { wechatEnv } from '@switchboard/channel-wechat-kf/outbound';
import { mediaEnv } from '@switchboard/media';
import { fetchEnv } from '@switchboard/fetch';
import { acceptEnv, backlogEnv } from '@switchboard/queue';

/** Roles a worker process can run (WORKER_ROLES). */
export const ROLES = ['inbound', 'agent', 'outbound', 'mirror'] as const;
export type Role = (typeof ROLES)[number];

/** Worker settings (configuration contract plus pipeline tuning). */
export const workerEnv = {
  ...baseEnv,
  ...whatsappEnv,
  ...agentEnv,
  ...mediaEnv,
  ...fetchEnv,
  ...chatwootEnv,
  ...wechatEnv,
  WORKER_ROLES: csv(),
  /** Jobs in flight per role in this process. Turns wait on the LLM, so this can be high. */
  WORKER_CONCURRENCY: int(32, 1),
  WORKER_METRICS_PORT: port(9464),
  /** Lock of active jobs (ms), renewed at half of it: jobs of a killed worker are recovered after about this long. */
  WORKER_LOCK_MS: int(15_000, 2000),
  ...acceptEnv,
  ...backlogEnv,
  /** …but never longer than this after the first message of the burst. */
  TURN_MAX_WAIT_MS: int(6000),
};
