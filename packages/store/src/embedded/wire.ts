/** PostgreSQL frontend protocol framing: just enough to route whole messages (protocol 3.0). */

const PROTOCOL_3 = 196_608;
const SSL_REQUEST = 80_877_103;
const GSSENC_REQUEST = 80_877_104;
const CANCEL_REQUEST = 80_877_102;

/** One frontend message, as the client sent it (bytes include type and length). */
export type FrontendMessage =
  | { readonly kind: 'ssl-request' }
  | { readonly kind: 'cancel' }
  | { readonly kind: 'startup'; readonly bytes: Buffer }
  | { readonly kind: 'message'; readonly type: string; readonly bytes: Buffer };

/**
 * Splits a connection's byte stream into messages. Until the startup message, messages have no
 * type byte (SSLRequest, GSSENCRequest, CancelRequest, StartupMessage); after it, every message is
 * `type(1) length(4) body`.
 */
export class FrontendFramer {
  private buf: Buffer = Buffer.alloc(0);
  private started = false;

  /** Adds bytes; returns the messages completed by them. Throws on a malformed length. */
  push(chunk: Buffer): FrontendMessage[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: FrontendMessage[] = [];
    for (;;) {
      if (!this.started) {
        if (this.buf.length < 8) break;
        const len = this.buf.readInt32BE(0);
        if (len < 8 || len > 10_000) throw new Error(`bad startup packet length ${len}`);
        if (this.buf.length < len) break;
        const code = this.buf.readInt32BE(4);
        const bytes = this.buf.subarray(0, len);
        this.buf = this.buf.subarray(len);
        if (code === SSL_REQUEST || code === GSSENC_REQUEST) out.push({ kind: 'ssl-request' });
        else if (code === CANCEL_REQUEST) out.push({ kind: 'cancel' });
        else if (code === PROTOCOL_3) {
          this.started = true;
          out.push({ kind: 'startup', bytes: Buffer.from(bytes) });
        } else throw new Error(`unsupported protocol ${code >> 16}.${code & 0xffff}`);
        continue;
      }
      if (this.buf.length < 5) break;
      const len = this.buf.readInt32BE(1);
      if (len < 4) throw new Error(`bad message length ${len}`);
      if (this.buf.length < len + 1) break;
      const bytes = Buffer.from(this.buf.subarray(0, len + 1));
      this.buf = this.buf.subarray(len + 1);
      out.push({ kind: 'message', type: String.fromCharCode(bytes[0] ?? 0), bytes });
    }
    return out;
  }
}

/** A simple-protocol Query message. */
export function queryMessage(text: string): Buffer {
  const body = Buffer.from(`${text}\0`, 'utf8');
  const head = Buffer.alloc(5);
  head.write('Q', 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

/** A Sync message (ends an extended-protocol sequence; the server answers ReadyForQuery). */
export const SYNC_MESSAGE = Buffer.from([0x53, 0, 0, 0, 4]);
