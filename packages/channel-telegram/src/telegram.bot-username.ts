import { z } from 'zod';

const GetMeAnswer = z.object({ ok: z.literal(true), result: z.object({ username: z.string().min(1).optional() }) });
const ErrorAnswer = z.object({ description: z.string().max(200) });

/**
 * A bot's @username, asked once with `getMe` (group messages mention the bot by it). A plain
 * `fetch`, not the outbound client: the inbound half that the ingress loads stays free of
 * worker-side code. Throws an error that never holds the token when Telegram does not answer with
 * the bot. @see https://core.telegram.org/bots/api#getme
 */
export async function askBotUsername(apiUrl: string, token: string, timeoutMs = 5000): Promise<string | undefined> {
  let res: Response;
  try {
    res = await fetch(`${apiUrl}/bot${token}/getMe`, { method: 'POST', redirect: 'error', signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    // the cause of a fetch failure may quote the URL, which holds the token: only its code is kept
    const code = err instanceof Error && err.cause && typeof err.cause === 'object' && 'code' in err.cause ? String(err.cause.code) : err instanceof Error ? err.name : 'error';
    // eslint-disable-next-line preserve-caught-error -- the caught error is left out on purpose (it may quote the token URL)
    throw new Error(`getMe: the Bot API did not answer (${code})`);
  }
  const body: unknown = await res.json().catch(() => undefined);
  const parsed = GetMeAnswer.safeParse(body);
  if (res.ok && parsed.success) return parsed.data.result.username;
  const refused = ErrorAnswer.safeParse(body);
  throw new Error(`getMe: HTTP ${res.status}${refused.success ? ` ${refused.data.description}` : ''}`);
}
