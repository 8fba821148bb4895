/** One part of a multipart/form-data body. */
export interface FormPart {
  bytes: Buffer;
  /** The part's Content-Type, when it has one. */
  contentType?: string;
  /** The part's filename, when it is a file. */
  filename?: string;
}

/**
 * Parses every part of a multipart/form-data body, by field name (synchronous; for the small
 * uploads the sandbox and the fake provider APIs receive). An unparsable body yields no parts.
 */
export function parseMultipart(contentType: string, raw: Buffer): Map<string, FormPart> {
  const parts = new Map<string, FormPart>();
  const m = /boundary=(?:"([^"]+)"|([^;]+))/.exec(contentType);
  const boundary = m?.[1] ?? m?.[2];
  if (!boundary) return parts;
  const delim = Buffer.from(`--${boundary}`);
  let pos = raw.indexOf(delim);
  while (pos >= 0) {
    const next = raw.indexOf(delim, pos + delim.length);
    if (next < 0) break;
    const part = raw.subarray(pos + delim.length + 2, next - 2);
    const headerEnd = part.indexOf('\r\n\r\n');
    if (headerEnd >= 0) {
      const headers = part.subarray(0, headerEnd).toString('utf8');
      const name = /name="([^"]*)"/.exec(headers)?.[1];
      if (name) {
        const type = /content-type:\s*([^\r\n]+)/i.exec(headers)?.[1]?.trim();
        const filename = /filename="([^"]*)"/.exec(headers)?.[1];
        parts.set(name, { bytes: Buffer.from(part.subarray(headerEnd + 4)), ...(type ? { contentType: type } : {}), ...(filename !== undefined ? { filename } : {}) });
      }
    }
    pos = next;
  }
  return parts;
}
