import { ReplyOption } from '@switchboard/core';
import { z } from 'zod';
import {
  DEFAULT_APOLOGY,
  DEFAULT_GREETINGS,
  DEFAULT_HANDOFF,
  DEFAULT_HANDOFF_TRIGGERS,
  DEFAULT_MODERATION,
  DEFAULT_OFFLINE,
  DEFAULT_RATE_LIMITED,
  DEFAULT_SYSTEM_PROMPT,
  DEFAULT_THANKS,
  DEFAULT_UNSUPPORTED,
  DEFAULT_OPT_IN_CONFIRMATION,
  DEFAULT_OPT_OUT_CONFIRMATION,
  DEFAULT_UNKNOWN,
  DEFAULT_SOURCES_HEADING,
} from './config.defaults.js';

/**
 * The AGENT_CONFIG file, as zod. Objects are strict so a misspelt key is reported instead of
 * silently ignored. Every section has defaults: an empty file is a valid configuration.
 * Documented field by field in `config/agent.example.yaml`.
 */

/** A language tag such as `en`, `es`, `zh`, `pt-BR`, or `default`. */
const Lang = z.string().regex(/^(default|[a-z]{2,3}(-[A-Za-z0-9]{2,8})*)$/, 'must be a language tag such as en, es, zh or pt-BR');

/** Text, or text per language (`{ en: …, es: … }`); the customer's language is picked, then `defaultLanguage`. */
export const Localized = z.union([z.string().min(1), z.record(Lang, z.string().min(1)).refine((r) => Object.keys(r).length > 0, 'needs at least one language')]);
export type Localized = z.infer<typeof Localized>;

/** A regular expression source, compiled case-insensitively; invalid ones are reported at load. */
const Pattern = z.string().min(1).superRefine((src, ctx) => {
  try {
    new RegExp(src, 'iu');
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `invalid regular expression: ${err instanceof Error ? err.message : String(err)}` });
  }
});

/** How one language recognises an FAQ question: any keyword phrase or any pattern. */
const FaqMatch = z.strictObject({
  keywords: z.array(z.string().min(1)).default([]),
  patterns: z.array(Pattern).default([]),
});

/** One FAQ entry answered without the LLM. */
export const FaqEntry = z.strictObject({
  id: z.string().min(1),
  /** Language → keywords/patterns. A message in any listed language matches. */
  match: z.record(Lang, FaqMatch).refine((r) => Object.keys(r).length > 0, 'needs at least one language'),
  answer: Localized,
  /** Buttons/list to show with the answer. */
  options: z.array(ReplyOption).optional(),
});
export type FaqEntry = z.infer<typeof FaqEntry>;

/** Greetings or thanks: phrases per language and the local answer (`{name}` = customer display name). */
const SmallTalk = z.strictObject({
  keywords: z.record(Lang, z.array(z.string().min(1))),
  answer: Localized,
});

const ChannelStyle = z.strictObject({
  /** Style instructions added to the system prompt for this channel. */
  style: z.string().min(1).optional(),
  /** Extra instructions for this channel only (per-channel override). */
  instructions: z.string().min(1).optional(),
  /** Replies longer than this are cut at a sentence boundary (the outbound splitter still splits long ones). */
  maxReplyChars: z.number().int().min(50).optional(),
});
export type ChannelStyle = z.infer<typeof ChannelStyle>;

const HttpMethod = z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);

/** A JSON schema of tool arguments (an object schema; validated loosely: type, properties, required, enum). */
export const JsonSchemaObject = z.looseObject({
  type: z.literal('object'),
  properties: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
  required: z.array(z.string()).optional(),
});
export type JsonSchemaObject = z.infer<typeof JsonSchemaObject>;

const ToolName = z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, _ or -');

/** A tool declared in config: the model's arguments fill the URL template, query string or JSON body. */
export const HttpToolConfig = z.strictObject({
  name: ToolName,
  description: z.string().min(1),
  method: HttpMethod.default('GET'),
  /** `https://orders.example.com/api/orders/{orderId}`: `{arg}` is replaced by the URL-encoded argument. */
  url: z.string().min(1),
  /** Header values may reference environment variables as `${NAME}`; resolved at load, never logged. */
  headers: z.record(z.string(), z.string()).default({}),
  parameters: JsonSchemaObject.prefault({ type: 'object' }),
  timeoutMs: z.number().int().min(100).optional(),
  /** Longer responses are cut before they reach the model. */
  maxResponseChars: z.number().int().min(100).default(4000),
  /**
   * Send the person the gateway resolved (`{id, role, attributes, verified, externalId?, name?,
   * language?}`) with each call, as base64url-encoded JSON in the `X-Switchboard-Person` header.
   */
  sendPerson: z.boolean().default(false),
});
export type HttpToolConfig = z.infer<typeof HttpToolConfig>;

const PerLangWords = z.record(Lang, z.array(z.string().min(1)));

/** A role name (`guest`, `customer`, `vip`, `staff`, `admin`, or your own). */
const RoleName = z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'must be 1-32 lower-case letters, digits, _ or - (starting with a letter)');

/** The gateway's staff commands (messages starting with `/` from a role that has them). */
export const STAFF_COMMANDS = ['pause', 'resume', 'stats', 'help'] as const;
export type StaffCommand = (typeof STAFF_COMMANDS)[number];

/** What a role may do. */
export const RoleConfig = z.strictObject({
  /** `deny`: the person's messages are recorded but the bot never answers them (an allowlist: deny `guest`). */
  access: z.enum(['allow', 'deny']).default('allow'),
  /**
   * Tools offered to (and run for) this role: `*` = all, or names of HTTP tools, plugins and
   * `generate_image`. The conversational built-ins (handoff, options, facts, knowledge search,
   * verification) are always offered.
   */
  tools: z.union([z.literal('*'), z.array(ToolName)]).default('*'),
  /** Persona tweak appended to the system prompt for this role. */
  instructions: z.string().min(1).optional(),
  /** Staff commands this role may send (`/pause`, `/resume`, `/stats`, `/help`). */
  commands: z.array(z.enum(STAFF_COMMANDS)).default([]),
  /** Replaces `rateLimit` for this role. */
  rateLimit: z
    .strictObject({
      enabled: z.boolean().default(true),
      points: z.number().int().min(1).default(20),
      durationSeconds: z.number().int().min(1).default(60),
    })
    .optional(),
});
export type RoleConfig = z.infer<typeof RoleConfig>;

/** The roles every configuration has (a configured role of the same name replaces the default). */
export const DEFAULT_ROLES: Readonly<Record<string, z.input<typeof RoleConfig>>> = {
  guest: {},
  customer: {},
  vip: {},
  staff: { commands: ['pause', 'resume', 'stats', 'help'] },
  admin: { commands: ['pause', 'resume', 'stats', 'help'] },
};

/** The whole agent configuration. */
/** Weekday keys of `businessHours.weekly`, in `Intl` order (Sunday first, as `getUTCDay`). */
export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)-(([01]\d|2[0-3]):([0-5]\d)|24:00)$/;
const minutesOf = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** `"09:00-18:00"`: a local opening range of one day (end after start; `24:00` = midnight). */
export const OpeningRange = z
  .string()
  .regex(HHMM, 'must be HH:MM-HH:MM, e.g. 09:00-18:00')
  .refine((r) => minutesOf(r.slice(6)) > minutesOf(r.slice(0, 5)), 'must end after it starts (split ranges across midnight)');

const isTimeZoneName = (tz: string): boolean => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
};

/**
 * When people answer (AGENT_CONFIG `businessHours`). Outside them the bot either tells the customer
 * when people are back and keeps answering (`notice`) or hands the conversation to the people's
 * queue with that notice (`queue`). Evaluated in `timeZone` with `Intl` (daylight saving included).
 */
export const BusinessHoursConfig = z.strictObject({
  /** IANA zone of the opening hours (default: the agent's `timezone`). */
  timeZone: z.string().refine(isTimeZoneName, 'must be an IANA time zone such as Europe/Madrid').optional(),
  /** Opening ranges per weekday; a day not listed is closed. */
  weekly: z.partialRecord(z.enum(WEEKDAYS), z.array(OpeningRange)).default({}),
  /** Local dates (YYYY-MM-DD) closed all day. */
  holidays: z.array(z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD')).default([]),
  outside: z.enum(['notice', 'queue']).default('notice'),
  messages: z
    .strictObject({
      /** Said outside hours, once per conversation and closed period; `{opening}` = when people are back. */
      notice: Localized.optional(),
    })
    .prefault({}),
});
export type BusinessHoursConfig = z.infer<typeof BusinessHoursConfig>;

export const AgentConfigSchema = z.strictObject({
  /** Bump to invalidate the response cache after changing prompts. */
  version: z.string().min(1).default('1'),
  defaultLanguage: Lang.default('en'),
  /** IANA zone for the date/time given to the model. */
  timezone: z
    .string()
    .default('UTC')
    .refine((tz) => {
      try {
        new Intl.DateTimeFormat('en', { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    }, 'must be an IANA time zone such as Europe/Madrid'),
  /** Business name used in the default prompt and answers (`{business}`). */
  businessName: z.string().min(1).default('our company'),
  prompt: z
    .strictObject({
      system: z.string().min(1).default(DEFAULT_SYSTEM_PROMPT),
      languagePolicy: z
        .string()
        .min(1)
        .default(
          "Always answer in the language of the customer's latest message. If the customer mixes languages, use the main one.",
        ),
    })
    .prefault({}),
  channels: z
    .strictObject({
      whatsapp: ChannelStyle.prefault({}),
      'wechat-kf': ChannelStyle.prefault({}),
      chatwoot: ChannelStyle.prefault({}),
      telegram: ChannelStyle.prefault({}),
    })
    .prefault({}),
  /**
   * Who the bot answers on the account this configuration serves (any channel). Ids are the
   * channel's customer ids (WhatsApp wa_id with or without `+`, BSUID or phone; WeChat
   * external_userid; Telegram chat id; Chatwoot contact id). Empty = everyone.
   */
  access: z
    .strictObject({
      allowedUsers: z.array(z.string().min(1)).default([]),
      /** `silent`: never answer others; `refuse`: tell them once (`refusalText`). */
      disallowedPolicy: z.enum(['silent', 'refuse']).default('silent'),
      refusalText: Localized.default('Sorry, this assistant is not available for you.'),
    })
    .prefault({}),
  /**
   * Roles of the people in the directory (PEOPLE_FILE, the API, imports, verification): which tools,
   * persona, commands and rate limit each gets, and whether the bot answers them at all. Merged
   * over the defaults guest, customer, vip, staff, admin.
   */
  roles: z
    .record(RoleName, RoleConfig)
    .default({})
    .transform((given) => ({ ...Object.fromEntries(Object.entries(DEFAULT_ROLES).map(([k, v]) => [k, RoleConfig.parse(v)])), ...given })),
  people: z
    .strictObject({
      /** Role of senders who are not in the directory. */
      defaultRole: RoleName.default('guest'),
    })
    .prefault({}),
  /**
   * Verification of customers who are not in the directory: the gateway makes a one-time code and
   * calls `tool` (an HTTP tool of `tools.http`, with the customer's own details and `code`) so the
   * business's system delivers it to the contact details it has on file; the business answers
   * with the person it found (`{"customerId": "…"}`). The customer types the code; on a match the
   * sender's identifier is linked to that person with `role`.
   */
  verification: z
    .strictObject({
      tool: ToolName,
      codeLength: z.number().int().min(4).max(10).default(6),
      ttlMinutes: z.number().int().min(1).max(60).default(10),
      maxAttempts: z.number().int().min(1).max(10).default(5),
      role: RoleName.default('customer'),
      messages: z
        .strictObject({
          accepted: Localized.default('Thank you, you are verified now.'),
          wrong: Localized.default('That code is not right. Please check it and try again.'),
          exhausted: Localized.default('Too many wrong codes. Please ask for a new code.'),
        })
        .prefault({}),
    })
    .optional(),
  faq: z.array(FaqEntry).default([]),
  /** Longer messages are never answered by FAQ (they usually ask more than the FAQ covers). */
  faqMaxChars: z.number().int().min(10).default(160),
  smallTalk: z
    .strictObject({
      enabled: z.boolean().default(true),
      greetings: SmallTalk.default(DEFAULT_GREETINGS),
      thanks: SmallTalk.default(DEFAULT_THANKS),
    })
    .prefault({}),
  messages: z
    .strictObject({
      offline: Localized.default(DEFAULT_OFFLINE),
      apology: Localized.default(DEFAULT_APOLOGY),
      rateLimited: Localized.default(DEFAULT_RATE_LIMITED),
      moderation: Localized.default(DEFAULT_MODERATION),
      handoff: Localized.default(DEFAULT_HANDOFF),
      /** The one-time notice for content the gateway cannot read (see `unsupportedContent`). */
      unsupported: Localized.default(DEFAULT_UNSUPPORTED),
      /** Strict grounding and nothing relevant in the knowledge base: said before the handoff. */
      unknown: Localized.default(DEFAULT_UNKNOWN),
    })
    .prefault({}),
  /**
   * Messages the gateway cannot read (a WhatsApp poll, an unknown type) are acknowledged, logged and
   * counted, and never sent to the LLM. With `notice: true` the customer gets `messages.unsupported`
   * once per conversation; deleted messages and other system events never get it.
   */
  unsupportedContent: z
    .strictObject({
      notice: z.boolean().default(false),
    })
    .prefault({}),
  /**
   * Opt-out of business-initiated messages (API messages, broadcasts) by keyword. A customer message
   * that is exactly one of `keywords` (besides the built-in STOP, UNSUBSCRIBE, 退订) or
   * `optInKeywords` (besides START), ignoring case, spaces and punctuation, opts them out or in and
   * gets `confirmation` / `optInConfirmation` once; the bot keeps answering their other messages.
   */
  optOut: z
    .strictObject({
      enabled: z.boolean().default(true),
      keywords: z.array(z.string().min(1).max(60)).max(50).default([]),
      optInKeywords: z.array(z.string().min(1).max(60)).max(50).default([]),
      confirmation: Localized.default(DEFAULT_OPT_OUT_CONFIRMATION),
      optInConfirmation: Localized.default(DEFAULT_OPT_IN_CONFIRMATION),
    })
    .prefault({}),
  memory: z
    .strictObject({
      maxTurns: z.number().int().min(0).max(500).default(20),
      ttlSeconds: z.number().int().min(60).default(7 * 24 * 3600),
      /** Rough token budget of the history given to the model (characters ≈ 4 × tokens); oldest turns go first. */
      maxHistoryChars: z.number().int().min(200).default(12_000),
      /** Fold turns that leave the window into a running summary (one LLM call after the turn) instead of dropping them. */
      summarize: z.boolean().default(true),
      summaryMaxChars: z.number().int().min(200).default(1500),
    })
    .prefault({}),
  /** What the agent keeps about a customer across conversations (name, language, facts the customer stated). */
  profile: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** Deleted this many days after the customer's last turn. */
      retentionDays: z.number().int().min(1).default(365),
      maxFacts: z.number().int().min(1).max(100).default(20),
    })
    .prefault({}),
  llm: z
    .strictObject({
      temperature: z.number().min(0).max(2).optional(),
      maxOutputTokens: z.number().int().min(16).optional(),
      /** Attempts per LLM request on 429/5xx/timeouts. */
      maxAttempts: z.number().int().min(1).max(10).default(3),
      /** First retry delay; doubles each attempt (with jitter), or the server's retry-after when given. */
      backoffMs: z.number().int().min(0).default(500),
      /** Whole-turn budget: no retry starts after it, each request's timeout is capped by what is left. */
      turnBudgetMs: z.number().int().min(1000).default(120_000),
      /**
       * Time the customer may wait for the answer to a turn (from the start of the agent's work).
       * Past it the customer gets the apology (or the handoff after repeated failures) and a late
       * model answer is discarded. At most 45 s: a hanging LLM must not leave the customer without a word.
       */
      firstReplyBudgetMs: z.number().int().min(1000).max(45_000).default(40_000),
    })
    .prefault({}),
  failures: z
    .strictObject({
      /** Consecutive failed turns in one conversation before an automatic handoff; 0 = never. */
      handoffAfter: z.number().int().min(0).default(3),
      windowSeconds: z.number().int().min(60).default(3600),
    })
    .prefault({}),
  tools: z
    .strictObject({
      /** LLM calls per turn, tool rounds included. */
      maxSteps: z.number().int().min(1).max(20).default(5),
      timeoutMs: z.number().int().min(100).default(10_000),
      handoffToHuman: z.boolean().default(true),
      sendOptions: z.boolean().default(true),
      /** Built-in `generate_image(prompt)` through the images API; the image is sent with the reply. */
      generateImage: z
        .strictObject({
          enabled: z.boolean().default(false),
          model: z.string().min(1).default('dall-e-3'),
          size: z.string().regex(/^\d+x\d+$|^auto$/, 'must be WIDTHxHEIGHT or auto').default('1024x1024'),
        })
        .prefault({}),
      http: z.array(HttpToolConfig).default([]),
    })
    .prefault({}),
  cache: z
    .strictObject({
      enabled: z.boolean().default(true),
      ttlSeconds: z.number().int().min(1).default(24 * 3600),
      maxQuestionChars: z.number().int().min(10).default(200),
    })
    .prefault({}),
  rateLimit: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** Turns a customer may start per window. */
      points: z.number().int().min(1).default(20),
      durationSeconds: z.number().int().min(1).default(60),
    })
    .prefault({}),
  moderation: z
    .strictObject({
      /** Customer messages containing one of these words get `messages.moderation`, without an LLM call. */
      input: PerLangWords.default({}),
      /** LLM answers containing one of these words are replaced by `messages.moderation`. */
      output: PerLangWords.default({}),
      /** The provider's moderation endpoint (`POST /v1/moderations`), on top of the word lists. */
      api: z
        .strictObject({
          enabled: z.boolean().default(false),
          model: z.string().min(1).default('omni-moderation-latest'),
          /** Also check the model's answers. */
          output: z.boolean().default(false),
        })
        .prefault({}),
    })
    .prefault({}),
  /** Opening hours of the people behind the bot; absent = always open. */
  businessHours: BusinessHoursConfig.optional(),
  handoff: z
    .strictObject({
      /** Phrases with which a customer asks for a person; answered with `messages.handoff` and a handoff. */
      triggers: PerLangWords.default(DEFAULT_HANDOFF_TRIGGERS),
      /**
       * Minutes without human activity after which the bot owns a human-owned conversation again
       * (overrides HANDOFF_AUTO_RESUME_MINUTES for this agent's conversations; 0 = never).
       */
      autoResumeMinutes: z.number().min(0).max(365 * 24 * 60).optional(),
    })
    .prefault({}),
  routing: z
    .strictObject({
      /** Model for complex turns; unset = every turn uses LLM_MODEL (or the variant's model). */
      strongModel: z.string().min(1).optional(),
      /** Turns whose text is at least this long are complex. */
      minChars: z.number().int().min(1).default(600),
      /** Turns with images, audio, video or documents are complex. */
      attachments: z.boolean().default(true),
      /** Words that mark a complex topic, per language. */
      keywords: PerLangWords.default({}),
      /** When the cheap model asks for a tool, the rest of the turn runs on the strong model. */
      escalateOnTools: z.boolean().default(false),
      /** Ask the cheap model to classify turns the rules call simple (one short extra call). */
      classifier: z.boolean().default(false),
    })
    .prefault({}),
  /**
   * The knowledge base (when the worker has one): each turn's customer text (with the previous
   * customer message, for follow-ups) is searched in the conversation's gateway account scope and
   * the best chunks are given to the model as numbered sources; `search_knowledge` searches again.
   */
  knowledge: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** Chunks given to the model per turn (and per `search_knowledge` call). */
      k: z.number().int().min(1).max(20).default(4),
      /** Chunks scoring below this (fused RRF score, about 0.016 for a first rank in one list) are dropped. */
      minScore: z.number().min(0).optional(),
      /** Ask the model to cite [n] and append the cited sources' titles/links under the answer. */
      citations: z.boolean().default(true),
      /** Heading of the sources list. */
      sourcesHeading: Localized.default(DEFAULT_SOURCES_HEADING),
      /**
       * `strict`: business facts only from the sources; nothing relevant found = `messages.unknown`,
       * a handoff, and the question recorded as unanswered. `open`: sources help, the model may still answer.
       */
      grounding: z.enum(['strict', 'open']).default('open'),
    })
    .prefault({}),
  /** A/B variants: each conversation is assigned one by weight, kept for the memory TTL, reported in metrics. */
  variants: z
    .array(
      z.strictObject({
        name: z.string().regex(/^[a-zA-Z0-9_-]{1,32}$/, 'must be 1-32 letters, digits, _ or -'),
        weight: z.number().min(0),
        /** Model of this variant's simple turns (default LLM_MODEL). */
        model: z.string().min(1).optional(),
        /** Replaces prompt.system for this variant. */
        system: z.string().min(1).optional(),
        temperature: z.number().min(0).max(2).optional(),
      }),
    )
    .default([]),
});

/** The validated agent configuration. */
export type AgentConfig = z.infer<typeof AgentConfigSchema>;

/** Cross-field problems of a parsed configuration (role and tool names that must exist), as `path: message` lines. */
export function configReferenceProblems(config: AgentConfig): string[] {
  const problems: string[] = [];
  if (!config.roles[config.people.defaultRole]) problems.push(`people.defaultRole: "${config.people.defaultRole}" is not a role (known: ${Object.keys(config.roles).join(', ')})`);
  const v = config.verification;
  if (v) {
    if (!config.tools.http.some((t) => t.name === v.tool)) problems.push(`verification.tool: "${v.tool}" is not an HTTP tool of tools.http`);
    if (!config.roles[v.role]) problems.push(`verification.role: "${v.role}" is not a role`);
  }
  return problems;
}
/** The configuration as written in the file (before defaults). */
export type AgentConfigInput = z.input<typeof AgentConfigSchema>;
