import { chatwootDefaultAccount, chatwootEnv, chatwootInbound } from '@switchboard/channel-chatwoot/inbound';
import { runIngress } from '@switchboard/ingress';

/** Composition root of chatwoot-ingress (port CHATWOOT_PORT, default 3003). */
runIngress({
  service: 'chatwoot-ingress',
  inbound: chatwootInbound,
  env: chatwootEnv,
  port: (cfg) => cfg.CHATWOOT_PORT,
  accounts: (cfg, log) => [chatwootDefaultAccount(cfg, log)],
});
