import { createHash, randomBytes, randomInt } from 'node:crypto';
import { safeEqual } from '@switchboard/core';
import type { Cluster, Redis } from 'ioredis';
import type { AgentConfig } from './config.schema.js';
import { ToolError } from './errors.js';
import { customerId as customerKeyOf, type AgentKeys } from './keys.js';
import type { AgentTool } from './tools/tool.types.js';

/** The `verification` section of the agent configuration. */
export type VerificationConfig = NonNullable<AgentConfig['verification']>;

/** The person the business's system named for a verification (linked on success). */
export interface VerifiedPerson {
  readonly externalId: string;
  readonly name?: string;
  /** The role the verified person gets (`verification.role`) when the directory does not know them yet. */
  readonly role: string;
}

/** What a customer's message did to their pending verification. */
export type CodeCheck = { readonly outcome: 'accepted'; readonly person: VerifiedPerson } | { readonly outcome: 'wrong'; readonly attemptsLeft: number } | { readonly outcome: 'exhausted' };

/** The name of the built-in tool that starts a verification. */
export const VERIFICATION_TOOL = 'request_verification_code';

const digest = (salt: string, code: string) => createHash('sha256').update(`${salt}:${code}`).digest('hex');

/** The person named in the business tool's answer: `customerId`, `externalId` or `personId` (string or number). */
function namedPerson(answer: string): { externalId: string; name?: string } | undefined {
  let body: unknown;
  try {
    body = JSON.parse(answer);
  } catch {
    return undefined;
  }
  if (typeof body !== 'object' || body === null) return undefined;
  const o = body as Record<string, unknown>;
  const id = [o.customerId, o.externalId, o.personId]
    .map((v) => (typeof v === 'number' && Number.isFinite(v) ? String(v) : v))
    .find((v): v is string => typeof v === 'string' && v.trim().length > 0 && v.length <= 200);
  if (id === undefined) return undefined;
  const name = typeof o.name === 'string' && o.name.trim() ? o.name.trim().slice(0, 200) : undefined;
  return { externalId: id.trim(), ...(name ? { name } : {}) };
}

/**
 * One-time codes for customers not in the directory. The gateway makes the code (crypto random),
 * the business's own HTTP tool delivers it (to the contact details it has on file for the
 * details the customer gave) and names the person; the code is kept only as a salted digest in
 * Redis with the TTL, the attempts are counted, the comparison is constant-time. The model never
 * sees the code, and nothing the customer claims in text is trusted: only the code typed back.
 */
export class CodeVerification {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly keys: AgentKeys,
    private readonly config: VerificationConfig,
    private readonly businessTool: AgentTool,
  ) {}

  /** The `request_verification_code` tool: the business tool's parameters without `code`. */
  tool(): AgentTool {
    const { properties, required, ...rest } = this.businessTool.parameters;
    const props = Object.fromEntries(Object.entries(properties).filter(([k]) => k !== 'code'));
    return {
      name: VERIFICATION_TOOL,
      description:
        "Send the customer a one-time code through the business's system, to the contact details the business has on file, so they can prove who they are. Use it when the customer asks to be verified or needs something only verified customers may do. Ask the customer for the details the parameters need first. Never accept a claimed identity without the code.",
      parameters: { ...rest, type: 'object', properties: props, ...(required ? { required: required.filter((r) => r !== 'code') } : {}) },
      ...(this.businessTool.timeoutMs !== undefined ? { timeoutMs: this.businessTool.timeoutMs } : {}),
      handler: async (args, ctx) => {
        const code = String(randomInt(0, 10 ** this.config.codeLength)).padStart(this.config.codeLength, '0');
        const out = await this.businessTool.handler({ ...args, code }, ctx);
        const answer = typeof out === 'string' ? out : out.content;
        const person = namedPerson(answer);
        if (!person) throw new ToolError('the business system did not find a customer with these details; ask the customer to check them');
        const salt = randomBytes(16).toString('hex');
        const key = this.keys.verification(customerKeyOf(ctx.ref));
        await this.redis
          .multi()
          .del(key)
          .hset(key, { digest: digest(salt, code), salt, externalId: person.externalId, name: person.name ?? '', attempts: '0' })
          .expire(key, this.config.ttlMinutes * 60)
          .exec();
        return `A one-time code of ${this.config.codeLength} digits was sent to the contact details the business has on file. Ask the customer to type it here. It is valid for ${this.config.ttlMinutes} minutes.`;
      },
    };
  }

  /**
   * Checks a customer's message against their pending code: undefined when none is pending or the
   * message is not shaped like a code (it goes to the agent as usual).
   */
  async check(customerId: string, text: string): Promise<CodeCheck | undefined> {
    const candidate = text.replace(/[\s-]/g, '');
    if (!new RegExp(`^[0-9]{${this.config.codeLength}}$`).test(candidate)) return undefined;
    const key = this.keys.verification(customerId);
    const pending = await this.redis.hgetall(key);
    if (!pending.digest || !pending.salt || !pending.externalId) return undefined;
    if (safeEqual(digest(pending.salt, candidate), pending.digest)) {
      // only the first of two concurrent correct answers links
      if ((await this.redis.del(key)) === 0) return undefined;
      return { outcome: 'accepted', person: { externalId: pending.externalId, role: this.config.role, ...(pending.name ? { name: pending.name } : {}) } };
    }
    const attempts = await this.redis.hincrby(key, 'attempts', 1);
    if (attempts >= this.config.maxAttempts) {
      await this.redis.del(key);
      return { outcome: 'exhausted' };
    }
    return { outcome: 'wrong', attemptsLeft: this.config.maxAttempts - attempts };
  }
}
