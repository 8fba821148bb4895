import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { z } from 'zod';

/**
 * Callback XML: the outer POST body (`<xml><ToUserName/><Encrypt/><AgentID/></xml>`) and the
 * decrypted notice. Parsed without entity expansion (no billion-laughs, no external entities);
 * a DOCTYPE is refused outright because WeCom never sends one.
 * @see https://developer.work.weixin.qq.com/document/path/94670
 */

const parser = new XMLParser({
  processEntities: false,
  htmlEntities: false,
  ignoreAttributes: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  parseTagValue: false,
  trimValues: true,
});

/** Result of parsing XML: the `<xml>` element's children as strings, or why it was refused. */
export type XmlResult = { readonly ok: true; readonly fields: Record<string, string> } | { readonly ok: false; readonly reason: string };

/** Parses a flat `<xml>…</xml>` document into its string fields; never throws. */
export function parseFlatXml(xml: string): XmlResult {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) return { ok: false, reason: 'doctype not allowed' };
  const valid = XMLValidator.validate(xml);
  if (valid !== true) return { ok: false, reason: `malformed xml: ${valid.err.msg}` };
  let doc: unknown;
  try {
    doc = parser.parse(xml);
  } catch (err) {
    return { ok: false, reason: `malformed xml: ${err instanceof Error ? err.message : String(err)}` };
  }
  const root = (doc as { xml?: unknown } | undefined)?.xml;
  if (!root || typeof root !== 'object' || Array.isArray(root)) return { ok: false, reason: 'missing <xml> root' };
  const fields: Record<string, string> = {};
  for (const [k, v] of Object.entries(root as Record<string, unknown>)) {
    // Repeated or nested elements are not part of any kf callback; keep the first scalar only.
    const first: unknown = Array.isArray(v) ? v[0] : v;
    if (typeof first === 'string') fields[k] = first;
    else if (typeof first === 'number' || typeof first === 'boolean') fields[k] = String(first);
  }
  return { ok: true, fields };
}

/** The `Encrypt` field of a POST callback body. */
export function extractEncrypt(body: string): { ok: true; encrypt: string } | { ok: false; reason: string } {
  const parsed = parseFlatXml(body);
  if (!parsed.ok) return parsed;
  const encrypt = parsed.fields['Encrypt'];
  if (!encrypt) return { ok: false, reason: 'missing <Encrypt>' };
  return { ok: true, encrypt };
}

/** A `kf_msg_or_event` notice: messages are waiting in `kf/sync_msg`. */
export const KfMsgOrEventCallback = z.object({
  kind: z.literal('kf_msg_or_event'),
  toUserName: z.string(),
  createTime: z.number().int(),
  /** Pass to `sync_msg.token`; valid 10 minutes. */
  token: z.string().optional(),
  /** Absent in callbacks built after the old v1 docs. */
  openKfId: z.string().optional(),
});
export type KfMsgOrEventCallback = z.infer<typeof KfMsgOrEventCallback>;

/** Any other callback that reached the URL (other WeCom events, app messages): acknowledged and logged. */
export const OtherCallback = z.object({
  kind: z.literal('other'),
  msgType: z.string(),
  event: z.string().optional(),
  createTime: z.number().int().optional(),
});
export type OtherCallback = z.infer<typeof OtherCallback>;

/** A decrypted callback notice. */
export const WechatCallback = z.discriminatedUnion('kind', [KfMsgOrEventCallback, OtherCallback]);
export type WechatCallback = z.infer<typeof WechatCallback>;

const int = (s: string | undefined): number | undefined => (s && /^\d{1,12}$/.test(s) ? Number(s) : undefined);

/**
 * Parses the decrypted notice. Branches on `MsgType`/`Event` before reading `Token`: non-kf callbacks
 * also reach this URL and must be acknowledged, not crash the handler.
 */
export function parseCallback(plaintext: string): { ok: true; callback: WechatCallback } | { ok: false; reason: string } {
  const parsed = parseFlatXml(plaintext);
  if (!parsed.ok) return parsed;
  const f = parsed.fields;
  const msgType = f['MsgType'] ?? '';
  const event = f['Event'];
  const createTime = int(f['CreateTime']);
  if (msgType === 'event' && event === 'kf_msg_or_event') {
    return {
      ok: true,
      callback: {
        kind: 'kf_msg_or_event',
        toUserName: f['ToUserName'] ?? '',
        createTime: createTime ?? 0,
        ...(f['Token'] ? { token: f['Token'] } : {}),
        ...(f['OpenKfId'] ? { openKfId: f['OpenKfId'] } : {}),
      },
    };
  }
  return {
    ok: true,
    callback: { kind: 'other', msgType, ...(event ? { event } : {}), ...(createTime !== undefined ? { createTime } : {}) },
  };
}
