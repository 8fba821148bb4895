import type { Logger } from '@switchboard/core';
import type OpenAI from 'openai';

/**
 * The provider's moderation endpoint (`POST /v1/moderations`). Fails open: when the endpoint is
 * unreachable the word lists still apply and the turn goes on.
 */
export class ApiModerator {
  constructor(
    private readonly client: OpenAI,
    private readonly model: string,
    private readonly log: Logger,
  ) {}

  /** True when the endpoint flags `text`. */
  async flagged(text: string): Promise<boolean> {
    if (!text.trim()) return false;
    try {
      const res = await this.client.moderations.create({ model: this.model, input: text });
      return res.results.some((r) => r.flagged);
    } catch (err) {
      this.log.warn('moderation endpoint failed; word lists only', { error: err instanceof Error ? err.message : String(err) });
      return false;
    }
  }
}
