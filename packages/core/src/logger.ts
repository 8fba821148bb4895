import winston from 'winston';
import { shortHash } from './ids.js';

/** Field names whose values never reach a log line. */
const SECRET_KEYS = /^(authorization|access_token|accessToken|token|secret|password|api_access_token|apiKey|api_key|app_secret|aeskey|encodingaeskey|cookie)$/i;
/** Field names that hold customer text; replaced by their length unless text logging is on. */
const TEXT_KEYS = /^(text|body|content|caption|message_text|transcript)$/i;
/** Field names that identify a person; hashed so logs still correlate. */
const PERSON_KEYS = /^(phone|wa_id|from|to|recipient|userId|user_id|external_userid|from_user_id|address|email)$/i;

function redactValue(key: string, value: unknown, showText: boolean, depth: number): unknown {
  if (SECRET_KEYS.test(key)) return '[redacted]';
  if (!showText && TEXT_KEYS.test(key) && typeof value === 'string') return `[text:${value.length}]`;
  if (PERSON_KEYS.test(key) && (typeof value === 'string' || typeof value === 'number')) return `h:${shortHash(String(value), 10)}`;
  if (depth < 4 && value && typeof value === 'object' && !(value instanceof Error)) {
    if (Array.isArray(value)) return value.map((v) => redactValue('', v, showText, depth + 1));
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactValue(k, v, showText, depth + 1)]));
  }
  return value;
}

/** Winston format that removes secrets, message text and raw identifiers from log fields. */
export const redactFormat = winston.format((info, opts?: unknown) => {
  const showText = (opts as { showText?: boolean } | undefined)?.showText === true;
  for (const key of Object.keys(info)) {
    if (key === 'level' || key === 'message' || key === 'service' || key === 'timestamp') continue;
    info[key] = redactValue(key, info[key], showText, 0);
  }
  return info;
});

export type Logger = winston.Logger;

type LevelMethod = (this: Logger, ...args: unknown[]) => Logger;

/**
 * Winston runs every call through its stream and formats (redaction, timestamp, JSON) before the
 * transport drops a line below its level, so a `debug` call cost as much as a written line. On the
 * returned logger (and its children) a call below the level, or on a silent logger, returns at once;
 * the level is read at each call, so changing `logger.level` still takes effect.
 */
function skipDisabledLevels(logger: Logger): Logger {
  const proto = Object.getPrototypeOf(logger) as Record<string, LevelMethod>;
  const methods = logger as unknown as Record<string, LevelMethod>;
  for (const level of Object.keys(logger.levels)) {
    const write = proto[level];
    if (typeof write !== 'function') continue;
    methods[level] = function (this: Logger, ...args: unknown[]) {
      return this.silent || !this.isLevelEnabled(level) ? this : write.apply(this, args);
    };
  }
  return logger;
}

/** Creates the process logger: JSON lines with `service`, redacted. Created once in the composition root. */
export function createLogger(opts: { service: string; level?: string; showText?: boolean; silent?: boolean }): Logger {
  return skipDisabledLevels(winston.createLogger({
    level: opts.level ?? 'info',
    silent: opts.silent ?? false,
    defaultMeta: { service: opts.service },
    format: winston.format.combine(
      winston.format.errors({ stack: true }),
      redactFormat({ showText: opts.showText ?? false }),
      winston.format.timestamp(),
      winston.format.json(),
    ),
    transports: [new winston.transports.Console({ stderrLevels: ['error'] })],
  }));
}

/** A logger that writes nothing (tests, benchmarks). */
export function silentLogger(service = 'test'): Logger {
  return createLogger({ service, silent: true });
}
