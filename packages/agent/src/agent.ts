import { shortHash, type Admission, type ConversationRef, type Logger, type PersonContext, type Reply } from '@switchboard/core';
import type { Cluster, Redis } from 'ioredis';
import OpenAI from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { ApiModerator } from './moderation-api.js';
import { generateImageTool } from './tools/generate-image.js';
import { cacheableQuestion, cacheKeyHash, ResponseCache } from './cache.js';
import type { AgentConfig, Localized, RoleConfig, StaffCommand } from './config.schema.js';
import { CodeVerification, VERIFICATION_TOOL, type CodeCheck } from './verification.js';
import type { AgentEnv } from './env.js';
import { LlmUnavailableError } from './errors.js';
import { FaqMatcher } from './faq.js';
import { FailureCounter } from './failures.js';
import { citedSources, formatSources, searchKnowledgeTool, TurnSources, withSourceList, type KnowledgeChunk, type KnowledgeSearch } from './knowledge.js';
import { agentKeys, customerId, turnId, type AgentKeys } from './keys.js';
import { LlmClient, type ChatFn } from './llm.js';
import { ConversationMemory, fitHistory } from './memory.js';
import { readTurnContext } from './context.js';
import type { AgentMetrics } from './metrics.js';
import { WordListModerator } from './moderation.js';
import { buildSystemPrompt } from './prompt.js';
import { CustomerRateLimiter } from './rate-limit.js';
import { isSilentTurn, renderTurn, turnImages, typedText } from './render.js';
import { detectLanguage, fillTemplate, limitLength, localize } from './text.js';
import { handoffToHumanTool, saveCustomerFactTool, sendOptionsTool } from './tools/builtins.js';
import { describeProfile, ProfileStore } from './profile.js';
import { summarizeTurns } from './summary.js';
import { httpTool } from './tools/http-tool.js';
import { runToolLoop } from './tools/tool-loop.js';
import { assignVariant, llmClassifier, pickVariant, routeTurn, type Variant } from './routing.js';
import { UnansweredQuestions } from './unanswered.js';
import { OptOutKeywords, type OptOutIntent } from './opt-out.js';
import { DEFAULT_OUTSIDE_HOURS_NOTICE, formatOpening, isOpenAt, nextOpeningAt, type OutsideHours } from './business-hours.js';
import type { AgentTool } from './tools/tool.types.js';
import type { AgentInput, AgentOptions, AgentOutput } from './agent.types.js';

export type { AgentInput, AgentOptions, AgentOutput, AgentSource } from './agent.types.js';
export type { KnowledgeChunk, KnowledgeSearch } from './knowledge.js';

/**
 * Resolves with `work` if it settles before `deadline`, else rejects with LlmUnavailableError. The
 * work is not awaited further: a late answer is discarded (its rejection is swallowed), so a model
 * that hangs past the per-request timeout cannot hold the customer's reply.
 */
async function withinBudget<T>(work: Promise<T>, deadline: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new LlmUnavailableError('first reply budget exceeded', { attempts: 0 })), Math.max(0, deadline - Date.now()));
  });
  work.catch(() => undefined);
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Tools every role is offered: they only shape the conversation (a role's `tools` lists the others). */
const CONVERSATION_TOOLS = new Set(['handoff_to_human', 'send_options', 'save_customer_fact', 'search_knowledge', VERIFICATION_TOOL]);

/** A role as a turn applies it. */
export interface ResolvedRole {
  readonly name: string;
  readonly config: RoleConfig;
}

/** Tools a preview runs: they only shape the reply (no effect outside the turn). */
const PREVIEW_SAFE_TOOLS = new Set(['handoff_to_human', 'send_options', 'save_customer_fact']);

/** A tool as a preview offers it: the same name, description and parameters; a tool with effects outside the turn is not run. */
function previewTool(tool: AgentTool): AgentTool {
  if (PREVIEW_SAFE_TOOLS.has(tool.name)) return tool;
  return { ...tool, handler: async () => `This is a preview of an answer: the tool "${tool.name}" cannot be called here. Answer without its result.` };
}

/** One entry per knowledge document, in order of first use (for the record). */
function documentsOf(chunks: readonly KnowledgeChunk[]): NonNullable<AgentOutput['sources']> {
  const seen = new Map<string, { documentId: string; title: string; url?: string }>();
  for (const c of chunks) if (!seen.has(c.documentId)) seen.set(c.documentId, { documentId: c.documentId, title: c.title, ...(c.url ? { url: c.url } : {}) });
  return [...seen.values()];
}

/**
 * The LLM agent: fast paths (greetings, FAQ, handoff phrases, response cache) before the model,
 * guard rails (rate limit, moderation, reply length), the tool loop, and failure handling
 * (retries within the turn budget, apology, handoff after repeated failures).
 */
export class Agent {
  /** True when an LLM is configured (OPENAI_API_KEY set). */
  readonly online: boolean;
  private readonly config: AgentConfig;
  private readonly env: AgentEnv;
  private readonly log: Logger;
  private readonly metrics: AgentMetrics;
  private readonly keys: AgentKeys;
  private readonly chat: ChatFn | undefined;
  private readonly faq: FaqMatcher;
  private readonly memory: ConversationMemory;
  private readonly cache: ResponseCache;
  private readonly rateLimiter: CustomerRateLimiter;
  private readonly failures: FailureCounter;
  private readonly inputModerator: WordListModerator;
  private readonly outputModerator: WordListModerator;
  private readonly tools: AgentTool[];
  private readonly promptVersion: string;
  private readonly redis: Redis | Cluster;
  private readonly profiles: ProfileStore;
  private readonly apiModerator: ApiModerator | undefined;
  private readonly knowledge: KnowledgeSearch | undefined;
  private readonly unanswered: UnansweredQuestions;
  private readonly optOutKeywords: OptOutKeywords;
  private readonly verification: CodeVerification | undefined;
  private readonly roleLimiters = new Map<string, CustomerRateLimiter>();

  constructor(opts: AgentOptions) {
    this.config = opts.config;
    this.env = opts.env;
    this.log = opts.log;
    this.metrics = opts.metrics ?? {};
    this.keys = agentKeys(opts.prefix);
    this.redis = opts.redis;
    const apiKey = opts.env.OPENAI_API_KEY;
    this.chat =
      opts.chat ??
      (apiKey
        ? new LlmClient({
            apiKey,
            baseURL: opts.env.OPENAI_BASE_URL,
            timeoutMs: opts.env.LLM_TIMEOUT_MS,
            maxAttempts: opts.config.llm.maxAttempts,
            backoffMs: opts.config.llm.backoffMs,
            log: opts.log,
            onCall: (e) => this.metrics.llmCall?.(e),
          }).chat
        : undefined);
    this.online = this.chat !== undefined;
    this.knowledge = opts.config.knowledge.enabled ? opts.knowledge : undefined;
    const wantsApi = opts.config.moderation.api.enabled || opts.config.tools.generateImage.enabled;
    // Moderation and images use the SDK directly (same provider, its own short retries).
    const extras = apiKey && wantsApi ? new OpenAI({ apiKey, baseURL: opts.env.OPENAI_BASE_URL, timeout: Math.min(opts.env.LLM_TIMEOUT_MS, 30_000), maxRetries: 1 }) : undefined;
    this.apiModerator = extras && opts.config.moderation.api.enabled ? new ApiModerator(extras, opts.config.moderation.api.model, opts.log) : undefined;
    this.faq = new FaqMatcher(opts.config);
    this.memory = new ConversationMemory(opts.redis, this.keys, opts.config.memory);
    this.cache = new ResponseCache(opts.redis, this.keys, opts.config.cache.ttlSeconds);
    this.rateLimiter = new CustomerRateLimiter(opts.redis, this.keys, opts.config.rateLimit);
    this.profiles = new ProfileStore(opts.redis, this.keys, opts.config.profile);
    this.failures = new FailureCounter(opts.redis, this.keys, opts.config.failures.windowSeconds);
    this.unanswered = new UnansweredQuestions(opts.redis, this.keys);
    this.optOutKeywords = new OptOutKeywords(opts.config.optOut);
    this.inputModerator = new WordListModerator(opts.config.moderation.input);
    this.outputModerator = new WordListModerator(opts.config.moderation.output);
    this.tools = [
      ...(opts.config.tools.handoffToHuman ? [handoffToHumanTool()] : []),
      ...(opts.config.tools.sendOptions ? [sendOptionsTool()] : []),
      ...(opts.config.profile.enabled ? [saveCustomerFactTool()] : []),
      ...(extras && opts.config.tools.generateImage.enabled ? [generateImageTool(extras, opts.config.tools.generateImage)] : []),
      ...opts.config.tools.http.map(httpTool),
      ...(opts.tools ?? []),
    ];
    const names = new Set<string>();
    for (const t of this.tools) {
      if (names.has(t.name)) throw new Error(`duplicate agent tool name "${t.name}"`);
      names.add(t.name);
    }
    const v = opts.config.verification;
    const business = v ? this.tools.find((t) => t.name === v.tool) : undefined;
    if (v && !business) throw new Error(`verification.tool "${v.tool}" is not a tool of this agent`);
    // the code-delivery tool is the gateway's to call: the model never gets it (it could pick its own code)
    if (v && business) {
      this.verification = new CodeVerification(opts.redis, this.keys, v, business);
      this.tools = [...this.tools.filter((t) => t !== business), this.verification.tool()];
    }
    // every setting that can change an answer: two accounts' agents never share cached answers
    this.promptVersion = shortHash(JSON.stringify([opts.config, opts.env.LLM_MODEL]), 12);
  }

  /** Answers one turn. No memory side effects; safe to call again for the same turn. */
  async respond(input: AgentInput): Promise<AgentOutput> {
    const started = Date.now();
    const out = await this.decide(input, started + this.config.llm.firstReplyBudgetMs);
    this.metrics.turn?.({ channel: input.ref.channel, source: out.source, handoff: out.handoff !== undefined, latencyMs: Date.now() - started, variant: out.variant });
    this.log.info('agent answered', {
      conversation: input.conversationId,
      source: out.source,
      handoff: out.handoff?.reason,
      variant: out.variant,
      route: out.route,
      tools: out.toolCalls?.map((t) => t.name),
      inputTokens: out.usage?.inputTokens,
      outputTokens: out.usage?.outputTokens,
    });
    return out;
  }

  /**
   * What the agent would answer to `input`, for the console's test box: the path of
   * {@link respond} — fast paths, the knowledge search, the same prompt and sources, the model,
   * citations, strict grounding's "don't know" and handoff — with no side effect. Nothing is sent,
   * no conversation memory, summary or profile is read or written, and nothing is counted or
   * stored (rate limit, A/B assignment, failure streak, response cache, unanswered questions,
   * turn metrics). Tools that act outside the turn (HTTP tools, image generation, plugins) are
   * offered to the model as in a turn but not run: the model is told the preview cannot call them.
   */
  async preview(input: AgentInput): Promise<AgentOutput> {
    return this.decide(input, Date.now() + this.config.llm.firstReplyBudgetMs, true);
  }

  /**
   * Appends the turn (customer messages + reply) to conversation memory (idempotent per turn),
   * folds turns that leave the window into the running summary (one LLM call when online; they
   * are dropped when that fails), and updates the customer's profile (name, language, facts).
   */
  async remember(input: AgentInput, output: AgentOutput): Promise<void> {
    if (isSilentTurn(input.messages) && !output.reply) return;
    const { conversationId } = input;
    const appended = await this.memory.append(conversationId, {
      id: turnId(input.messages),
      at: input.now,
      user: renderTurn(input.messages),
      assistant: output.reply?.text ?? null,
      source: output.source,
    });
    const overflow = appended.full ? await this.memory.takeOverflow(conversationId) : [];
    if (overflow.length && this.config.memory.summarize && this.chat) {
      try {
        const summary = await summarizeTurns({
          chat: this.chat,
          model: this.env.LLM_MODEL,
          previous: await this.memory.summary(conversationId),
          turns: overflow,
          maxChars: this.config.memory.summaryMaxChars,
          deadline: Date.now() + Math.min(this.config.llm.turnBudgetMs, 30_000),
        });
        if (summary) await this.memory.setSummary(conversationId, summary);
      } catch (err) {
        this.log.warn('memory summary failed; older turns dropped', { conversation: conversationId, dropped: overflow.length, error: err instanceof Error ? err.message : String(err) });
      }
    }
    if (this.config.profile.enabled) {
      const typed = typedText(input.messages).text;
      await this.profiles.update(
        customerId(input.ref),
        { name: input.ref.displayName, language: typed.length >= 8 ? detectLanguage(typed) : undefined, facts: output.facts },
        input.now,
      );
    }
  }

  private text(t: Localized, lang: string | undefined, name?: string): string {
    return fillTemplate(localize(t, lang, this.config.defaultLanguage), { name, business: this.config.businessName });
  }

  /**
   * Whether the bot may answer this conversation (`access` of the configuration): the customer's
   * id, reply address or phone is on `allowedUsers`, or the list is empty.
   */
  admit(ref: Pick<ConversationRef, 'userId' | 'address' | 'phone'>): Admission {
    const { allowedUsers, disallowedPolicy, refusalText } = this.config.access;
    if (allowedUsers.length === 0) return { allowed: true };
    const norm = (s: string) => s.trim().replace(/^\+/, '');
    const listed = new Set(allowedUsers.map(norm));
    if ([ref.userId, ref.address, ref.phone].some((id) => id !== undefined && listed.has(norm(id)))) return { allowed: true };
    return { allowed: false, reason: 'customer not on the access list (AGENT_CONFIG access.allowedUsers)', ...(disallowedPolicy === 'refuse' ? { refusal: { text: this.text(refusalText, undefined) } } : {}) };
  }

  /** The person a turn is about: the directory's, or an unknown sender with the default role. */
  personOf(person: PersonContext | undefined): PersonContext {
    return person ?? { role: this.config.people.defaultRole, attributes: {}, verified: false };
  }

  /** The role a person gets: theirs when configured, else the default role (a role removed from the config falls back). */
  roleOf(person: PersonContext | undefined): ResolvedRole {
    const p = this.personOf(person);
    const own = this.config.roles[p.role];
    if (own) return { name: p.role, config: own };
    const name = this.config.people.defaultRole;
    return { name, config: this.config.roles[name] ?? { access: 'allow', tools: '*', commands: [] } };
  }

  /**
   * Whether the bot answers this person at all (their role's `access`); a denied person's messages
   * are still recorded and mirrored, the bot stays silent.
   */
  accessOf(person: PersonContext | undefined): Admission {
    const role = this.roleOf(person);
    if (role.config.access === 'allow') return { allowed: true };
    return { allowed: false, reason: `role "${role.name}" has access deny (AGENT_CONFIG roles)` };
  }

  /** The staff commands this person may send (their role's `commands`). */
  commandsOf(person: PersonContext | undefined): readonly StaffCommand[] {
    return this.roleOf(person).config.commands;
  }

  /** Whether a role may use a tool (conversation built-ins always). */
  private permits(role: ResolvedRole, tool: string): boolean {
    return CONVERSATION_TOOLS.has(tool) || role.config.tools === '*' || role.config.tools.includes(tool);
  }

  /** The rate limiter of a role: its own `rateLimit`, else the configuration's; undefined = none. */
  private limiterFor(role: ResolvedRole): CustomerRateLimiter | undefined {
    const own = role.config.rateLimit;
    if (!own) return this.config.rateLimit.enabled ? this.rateLimiter : undefined;
    if (!own.enabled) return undefined;
    let limiter = this.roleLimiters.get(role.name);
    if (!limiter) {
      const keys = { ...this.keys, rateLimiterPrefix: () => `${this.keys.rateLimiterPrefix()}:role-${role.name}` };
      this.roleLimiters.set(role.name, (limiter = new CustomerRateLimiter(this.redis, keys, own)));
    }
    return limiter;
  }

  /** The answer to a message that was a verification code. */
  private verificationReply(check: CodeCheck, lang: string | undefined): AgentOutput {
    const m = this.config.verification?.messages;
    if (!m) return { reply: null, source: 'local' };
    if (check.outcome === 'accepted') return { reply: { text: this.text(m.accepted, lang) }, source: 'local', verified: check.person };
    return { reply: { text: this.text(check.outcome === 'wrong' ? m.wrong : m.exhausted, lang) }, source: 'local' };
  }

  /**
   * Whether a customer message is an opt-out or opt-in keyword (the whole message; AGENT_CONFIG
   * `optOut`). The turn handles those before the agent runs: they are never given to the model.
   */
  optOutIntent(text: string): OptOutIntent | undefined {
    return this.optOutKeywords.match(text);
  }

  /** The confirmation of an opt-out or opt-in, in the language of the keyword (Chinese for 退订). */
  optOutConfirmation(intent: OptOutIntent, keyword: string): Reply {
    const c = this.config.optOut;
    return { text: this.text(intent === 'opt_out' ? c.confirmation : c.optInConfirmation, detectLanguage(keyword)) };
  }

  /**
   * The one-time notice for content the gateway cannot read (`unsupportedContent.notice`), in the
   * default language (there is no text to detect one from); undefined when the notice is off.
   */
  unsupportedNotice(): Reply | undefined {
    if (!this.config.unsupportedContent.notice) return undefined;
    return { text: this.text(this.config.messages.unsupported, undefined) };
  }

  /**
   * Whether the bot answers outside business hours at `now` (AGENT_CONFIG `businessHours`): undefined
   * inside them or without them; else what to do and the notice naming the next opening, in `lang`
   * when the configuration has a text in it.
   */
  outsideHours(now: number, lang: string | undefined): OutsideHours | undefined {
    const bh = this.config.businessHours;
    if (!bh) return undefined;
    const timeZone = bh.timeZone ?? this.config.timezone;
    if (isOpenAt(bh, timeZone, now)) return undefined;
    const nextOpenAt = nextOpeningAt(bh, timeZone, now);
    const template = localize(bh.messages.notice ?? DEFAULT_OUTSIDE_HOURS_NOTICE[bh.outside], lang, this.config.defaultLanguage);
    const opening = nextOpenAt !== undefined ? formatOpening(nextOpenAt, timeZone, lang ?? this.config.defaultLanguage) : '—';
    return { outside: bh.outside, nextOpenAt, notice: fillTemplate(template.replace(/\{opening\}/g, opening), { business: this.config.businessName }) };
  }

  /** The minutes without human activity after which the bot takes a conversation back (`handoff.autoResumeMinutes`); undefined = the deployment's. */
  autoResumeMinutes(): number | undefined {
    return this.config.handoff.autoResumeMinutes;
  }

  /** One turn's answer; `dry` = a {@link preview} (no side effect, no conversation state read). */
  private async decide(input: AgentInput, replyBy: number, dry = false): Promise<AgentOutput> {
    const { messages, ref } = input;
    if (isSilentTurn(messages)) return { reply: null, source: 'local' };
    const typed = typedText(messages);
    const rendered = renderTurn(messages);
    const lang = detectLanguage(typed.text || rendered);
    const tid = turnId(messages);
    const msgs = this.config.messages;
    const person = this.personOf(input.person);
    const role = this.roleOf(person);

    // a code typed back for a pending verification is checked by the gateway, never shown to the model
    if (this.verification && !dry && typed.textOnly && !person.verified) {
      const check = await this.verification.check(customerId(ref), typed.text);
      if (check) return this.verificationReply(check, lang);
    }

    const limiter = dry ? undefined : this.limiterFor(role);
    if (limiter) {
      const decision = await limiter.decide(customerId(ref), tid);
      if (decision === 'notice') return { reply: { text: this.text(msgs.rateLimited, lang) }, source: 'rate_limited' };
      if (decision === 'silent') return { reply: null, source: 'rate_limited' };
    }
    if (this.inputModerator.check(rendered) || (this.apiModerator && (await this.apiModerator.flagged(typed.text || rendered)))) {
      return { reply: { text: this.text(msgs.moderation, lang) }, source: 'refusal' };
    }

    const handoffLang = this.faq.handoffRequest(typed.text);
    if (handoffLang) {
      return {
        reply: { text: this.text(msgs.handoff, lang ?? handoffLang) },
        source: 'local',
        handoff: { reason: 'customer_request', summary: `The customer asked to talk to a person: "${typed.text.slice(0, 300)}"` },
      };
    }
    if (typed.textOnly) {
      const smallTalk = this.faq.smallTalkOf(typed.text, ref.displayName);
      if (smallTalk) {
        return { reply: { text: this.text(this.config.smallTalk[smallTalk.kind].answer, smallTalk.lang, ref.displayName) }, source: 'local' };
      }
      const hit = this.faq.match(typed.text);
      if (hit) {
        const reply: Reply = { text: this.text(hit.entry.answer, hit.lang, ref.displayName) };
        if (hit.entry.options) reply.options = hit.entry.options;
        return { reply, source: 'faq' };
      }
    }
    if (!this.chat) return { reply: { text: this.text(msgs.offline, lang) }, source: 'offline' };

    const variant = !this.config.variants.length
      ? undefined
      : dry
        ? pickVariant(this.config.variants, input.conversationId)
        : await assignVariant(this.redis, this.keys.variant(input.conversationId), this.config.variants, input.conversationId, this.config.memory.ttlSeconds);
    // answers from the knowledge base are never cached: a deleted or changed document must not be served again
    const question = this.config.cache.enabled && !this.knowledge
      ? cacheableQuestion({ text: typed.text, textOnly: typed.textOnly, messageCount: messages.length, displayName: ref.displayName, maxChars: this.config.cache.maxQuestionChars })
      : undefined;
    const promptVersion = variant ? `${this.promptVersion}|${variant.name}|${variant.model ?? ''}` : this.promptVersion;
    const cacheHash = question ? cacheKeyHash({ question, promptVersion, channel: ref.channel, lang }) : undefined;
    if (cacheHash) {
      const cached = await this.cache.get(cacheHash);
      if (cached) return { reply: { text: cached }, source: 'cache', ...(variant ? { variant: variant.name } : {}) };
    }
    const hasAttachments = messages.some((m) => ['image', 'audio', 'video', 'document'].includes(m.content.type));
    return this.askModel(input, this.chat, { rendered, lang, tid, cacheHash, variant, typed: typed.text, hasAttachments, replyBy, dry, person, role });
  }

  /** Keeps a question the knowledge base could not answer (counted per distinct question; see {@link UnansweredQuestions}). */
  private async recordUnanswered(account: string, input: AgentInput, question: string): Promise<void> {
    await this.unanswered.record(account, { question, channel: input.ref.channel, turnId: turnId(input.messages), at: input.now });
  }

  private async askModel(
    input: AgentInput,
    chat: ChatFn,
    turn: {
      rendered: string;
      lang: string | undefined;
      tid: string;
      cacheHash: string | undefined;
      variant: Variant | undefined;
      typed: string;
      hasAttachments: boolean;
      /** The first-reply budget's end (epoch ms): past it the customer gets the apology instead. */
      replyBy: number;
      /** A preview: no conversation state read, nothing written, outside tools not run. */
      dry: boolean;
      /** Who the customer is (the directory's, never the text's) and the role that applies. */
      person: PersonContext;
      role: ResolvedRole;
    },
  ): Promise<AgentOutput> {
    const { ref, conversationId } = input;
    const msgs = this.config.messages;
    const { variant } = turn;
    const deadline = Math.min(Date.now() + this.config.llm.turnBudgetMs, turn.replyBy);
    const cheapModel = variant?.model ?? this.env.LLM_MODEL;
    const routing = this.config.routing;
    const route = await routeTurn(
      routing,
      { text: turn.typed || turn.rendered, hasAttachments: turn.hasAttachments },
      llmClassifier(chat, cheapModel, turn.rendered, deadline),
    );
    const model = route === 'simple' ? cheapModel : (routing.strongModel ?? cheapModel);
    const temperature = variant?.temperature ?? this.config.llm.temperature;
    const tags = { ...(variant ? { variant: variant.name } : {}), ...(routing.strongModel ? { route } : {}) };
    const { turns, summary, profile, failing } = turn.dry
      ? { turns: [], summary: undefined, profile: undefined, failing: false }
      : await readTurnContext(this.redis, this.keys, { conversationId, customerId: customerId(ref) }, { maxTurns: this.config.memory.maxTurns, readProfile: this.config.profile.enabled });
    const history = fitHistory(turns, this.config.memory.maxHistoryChars);
    const hints = this.tools.length || this.knowledge ? ['Use the available tools to look facts up instead of guessing.'] : [];
    const kcfg = this.config.knowledge;
    const sources = new TurnSources();
    const kbAccount = ref.accountId ?? 'default';
    // a tool the role does not allow is neither offered nor run (the model may be talked into calling it anyway)
    const refused = new Map<string, string>();
    const offered = this.tools.filter((t) => {
      const verifyHint = this.verification && !turn.person.verified ? ` Offer to verify the customer with ${VERIFICATION_TOOL} first.` : '';
      if (t.name === VERIFICATION_TOOL && turn.person.verified) return false;
      if (this.permits(turn.role, t.name)) return true;
      refused.set(t.name, `the tool "${t.name}" is not available to this customer: the gateway decides who the customer is, not the conversation.${verifyHint}`);
      return false;
    });
    let tools = turn.dry ? offered.map(previewTool) : offered;
    if (turn.role.config.instructions) hints.push(turn.role.config.instructions);
    if (this.knowledge) {
      // a follow-up ("and for Germany?") is searched together with the previous customer message
      const previous = turns.length ? turns[turns.length - 1]?.user : undefined;
      const query = [turn.typed || turn.rendered, previous].filter(Boolean).join('\n');
      let hits: Awaited<ReturnType<KnowledgeSearch['search']>> = [];
      try {
        hits = (await this.knowledge.search(query, { account: kbAccount, k: kcfg.k })).filter((h) => kcfg.minScore === undefined || h.score >= kcfg.minScore);
      } catch (err) {
        this.log.warn('knowledge search failed; answering without sources', { conversation: conversationId, error: err instanceof Error ? err.message : String(err) });
      }
      if (!hits.length && kcfg.grounding === 'strict' && turn.typed.trim()) {
        if (!turn.dry) await this.recordUnanswered(kbAccount, input, turn.typed);
        return {
          ...tags,
          reply: { text: this.text(msgs.unknown, turn.lang) },
          source: 'local',
          handoff: { reason: 'knowledge_gap', summary: `The knowledge base has no answer to the customer's question: "${turn.typed.slice(0, 300)}"` },
        };
      }
      if (hits.length) hints.push(`Sources from the knowledge base for this question (numbered):\n\n${formatSources(sources.add(hits))}`);
      hints.push(
        kcfg.grounding === 'strict'
          ? "Take business facts (prices, policies, products, delivery, dates, availability) ONLY from the numbered sources and tool results; never invent them. If they do not contain the answer, say you do not know and offer to pass the customer to a colleague."
          : 'Prefer the numbered sources for business facts; do not contradict them.',
      );
      if (kcfg.citations) hints.push('Cite the sources you use as [1], [2] right after the fact they support. Do not write a list of sources yourself.');
      else hints.push('Do not mention source numbers.');
      tools = [...tools, searchKnowledgeTool(this.knowledge, sources, { account: kbAccount, k: kcfg.k, minScore: kcfg.minScore })];
    }
    const known = describeProfile(profile);
    if (known) hints.push(known);
    if (summary) hints.push(`Summary of the earlier conversation:\n${summary}`);
    const config = variant?.system ? { ...this.config, prompt: { ...this.config.prompt, system: variant.system } } : this.config;
    const messages: ChatCompletionMessageParam[] = [{ role: 'system', content: buildSystemPrompt(config, ref, input.now, hints) }];
    for (const t of history) {
      messages.push({ role: 'user', content: t.user });
      if (t.assistant) messages.push({ role: 'assistant', content: t.assistant });
    }
    // images go to the model as image parts with the caption text; a vision model is used when configured
    const images = turnImages(input.messages);
    messages.push(
      images.length > 0
        ? { role: 'user', content: [{ type: 'text', text: turn.rendered }, ...images.map((url) => ({ type: 'image_url' as const, image_url: { url } }))] }
        : { role: 'user', content: turn.rendered },
    );
    const turnModel = images.length > 0 && this.env.VISION_MODEL ? this.env.VISION_MODEL : model;
    const log = this.log.child({ conversation: conversationId });

    let loop;
    try {
      loop = await withinBudget(runToolLoop({
        chat,
        request: {
          model: turnModel,
          messages,
          ...(temperature !== undefined ? { temperature } : {}),
          ...(this.config.llm.maxOutputTokens !== undefined ? { maxTokens: this.config.llm.maxOutputTokens } : {}),
          ...(variant ? { variant: variant.name } : {}),
        },
        ...(routing.strongModel && routing.escalateOnTools && model !== routing.strongModel ? { escalateModel: routing.strongModel } : {}),
        tools,
        maxSteps: this.config.tools.maxSteps,
        toolTimeoutMs: this.config.tools.timeoutMs,
        deadline,
        context: { conversationId, ref, now: input.now, log, person: turn.person },
        refused,
        log,
        onToolCall: (r) => this.metrics.toolCall?.({ tool: r.name, ok: r.ok, latencyMs: r.latencyMs }),
      }), deadline);
    } catch (err) {
      if (!(err instanceof LlmUnavailableError)) throw err;
      if (turn.dry) return { ...tags, reply: { text: this.text(msgs.apology, turn.lang) }, source: 'fallback' };
      const failures = await this.failures.record(conversationId, turn.tid);
      log.warn('llm unavailable for this turn', { failures, error: err.message });
      const limit = this.config.failures.handoffAfter;
      if (limit > 0 && failures >= limit) {
        return {
          ...tags,
          reply: { text: this.text(msgs.handoff, turn.lang) },
          source: 'fallback',
          handoff: { reason: 'llm_unavailable', summary: `The assistant could not answer ${failures} turns in a row. Last message: "${turn.rendered.slice(0, 300)}"` },
        };
      }
      return { ...tags, reply: { text: this.text(msgs.apology, turn.lang) }, source: 'fallback' };
    }
    // only a running streak needs ending (one turn of a conversation runs at a time: no other writer meanwhile)
    if (!turn.dry && failing) await this.failures.reset(conversationId);
    const usage = { model: loop.model, inputTokens: loop.inputTokens, outputTokens: loop.outputTokens, latencyMs: loop.latencyMs };
    const base = {
      ...tags,
      usage,
      toolCalls: loop.toolCalls,
      ...(sources.list.length ? { sources: documentsOf(sources.list) } : {}),
      ...(loop.handoff ? { handoff: loop.handoff } : {}),
      ...(loop.facts?.length ? { facts: loop.facts } : {}),
    };

    if (loop.handoff) return { ...base, reply: { text: loop.text ?? this.text(msgs.handoff, turn.lang) }, source: 'llm' };
    if (!loop.text) return { ...base, reply: { text: this.text(msgs.apology, turn.lang) }, source: 'fallback' };
    const outputApi = this.config.moderation.api.output ? this.apiModerator : undefined;
    if (this.outputModerator.check(loop.text) || (outputApi && (await outputApi.flagged(loop.text)))) {
      log.warn('llm answer blocked by output moderation');
      return { ...base, reply: { text: this.text(msgs.moderation, turn.lang) }, source: 'refusal' };
    }
    const max = this.config.channels[ref.channel].maxReplyChars;
    const body = max ? limitLength(loop.text, max) : loop.text;
    const text = sources.list.length ? (kcfg.citations ? withSourceList(body, sources.list, this.text(kcfg.sourcesHeading, turn.lang)) : body.replace(/\s?\[\d{1,2}\]/g, '')) : body;
    const reply: Reply = { text };
    if (loop.options) reply.options = loop.options;
    if (loop.media) reply.media = loop.media;

    const name = ref.displayName?.trim();
    const shareable =
      turn.cacheHash && history.length === 0 && sources.list.length === 0 && !summary && !profile?.facts.length && loop.toolCalls.length === 0 && !loop.options && !(name && text.includes(name));
    if (shareable && turn.cacheHash && !turn.dry) await this.cache.set(turn.cacheHash, text);
    const cited = kcfg.citations ? citedSources(body, sources.list) : [];
    return { ...base, reply, source: 'llm', ...(cited.length ? { citations: cited } : {}) };
  }
}
