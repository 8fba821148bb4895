import { whatsappDefaultAccount, whatsappEnv, whatsappInbound } from '@switchboard/channel-whatsapp/inbound';
import { runIngress } from '@switchboard/ingress';

/** Composition root of whatsapp-ingress (port WHATSAPP_PORT, default 3001). */
runIngress({
  service: 'whatsapp-ingress',
  inbound: whatsappInbound,
  env: whatsappEnv,
  port: (cfg) => cfg.WHATSAPP_PORT,
  accounts: (cfg, log) => [whatsappDefaultAccount(cfg, log)],
});
