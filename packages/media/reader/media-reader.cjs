'use strict';
/**
 * Media reader child process (spawned by runReader in src/media.pdf.ts, never imported). Mode
 * `silk` decodes a WeChat SILK voice file to WAV (silk-wasm); mode `pdf` reads one PDF from a path.
 * Prints ONE JSON line on stdout; for a PDF:
 *   {"ok":true,"pages":N,"pagesRead":M,"text":"…"} | {"ok":false,"code":"too_large"|"failed","error":"…"}
 * Limits come as a JSON argument: maxInflatedBytes (sum of the inflated sizes of the content
 * streams, checked before pdf.js sees the file, so a decompression bomb costs at most that much),
 * maxPages (only the first pages are read), maxChars (text collected stops there). The parent adds
 * the memory cap (--max-old-space-size, prlimit, RSS watchdog) and the time limit.
 */
const { readFileSync, writeFileSync } = require('node:fs');
const zlib = require('node:zlib');

const args = JSON.parse(process.argv[2] || '{}');

function reply(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n', () => process.exit(0));
}

class TooLarge extends Error {}

/** Inflated size of one Flate stream, counted chunk by chunk (nothing kept); TooLarge past `remaining`. */
function inflatedSize(data, remaining, cap) {
  return new Promise((resolve, reject) => {
    const z = zlib.createInflate({ finishFlush: zlib.constants.Z_SYNC_FLUSH });
    let n = 0;
    z.on('data', (chunk) => {
      n += chunk.length;
      if (n > remaining) {
        z.destroy();
        reject(new TooLarge(`content streams inflate to more than ${cap} bytes`));
      }
    });
    z.on('end', () => resolve(n));
    // a stream zlib cannot read counts what came out before the error; pdf.js fails or skips it too
    z.on('error', () => resolve(n));
    z.end(data);
  });
}

/**
 * Walks every `stream … endstream` of the file and inflates the Flate ones that text extraction
 * would decode (not images), counting output bytes; throws TooLarge past `cap`.
 */
async function checkInflated(buf, cap) {
  let total = 0;
  let pos = 0;
  for (;;) {
    const s = buf.indexOf('stream', pos, 'latin1');
    if (s < 0) return total;
    pos = s + 6;
    if (s >= 3 && buf.toString('latin1', s - 3, s) === 'end') continue;
    let start = s + 6;
    if (buf[start] === 0x0d) start += 1;
    if (buf[start] === 0x0a) start += 1;
    else if (buf[start - 1] !== 0x0d) continue;
    const end = buf.indexOf('endstream', start, 'latin1');
    const stop = end < 0 ? buf.length : end;
    const objAt = buf.lastIndexOf('obj', s, 'latin1');
    const dict = buf.toString('latin1', Math.max(objAt, s - 8192, 0), s);
    pos = stop;
    if (!/\/(FlateDecode|Fl)\b/.test(dict) || /\/Subtype\s*\/Image\b/.test(dict)) continue;
    total += await inflatedSize(buf.subarray(start, stop), cap - total, cap);
  }
}

/** WeChat SILK → 16-bit mono WAV with silk-wasm; refuses before decoding past maxSec. */
async function silk() {
  const silkWasm = require(args.silk);
  const bytes = readFileSync(args.path);
  const durationSec = silkWasm.getDuration(bytes) / 1000;
  if (durationSec > args.maxSec) return reply({ ok: false, code: 'too_long', durationSec });
  const pcm = (await silkWasm.decode(bytes, args.rate)).data;
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(36 + pcm.byteLength, 4);
  h.write('WAVEfmt ', 8, 'latin1');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(args.rate, 24);
  h.writeUInt32LE(args.rate * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'latin1');
  h.writeUInt32LE(pcm.byteLength, 40);
  writeFileSync(args.output, Buffer.concat([h, Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength)]), { mode: 0o600 });
  reply({ ok: true, durationSec, size: 44 + pcm.byteLength });
}

async function main() {
  if (args.mode === 'silk') return silk();
  const bytes = readFileSync(args.path);
  await checkInflated(bytes, args.maxInflatedBytes);
  const unpdf = require(args.unpdf);
  const pdf = await unpdf.getDocumentProxy(new Uint8Array(bytes), { isEvalSupported: false, maxImageSize: 4096 * 4096, disableFontFace: true });
  const pages = pdf.numPages;
  const pagesRead = Math.min(pages, args.maxPages);
  const texts = [];
  let chars = 0;
  for (let i = 1; i <= pagesRead && chars <= args.maxChars; i += 1) {
    const page = await pdf.getPage(i);
    const content = await page.getTextContent();
    const t = content.items.filter((it) => it.str != null).map((it) => it.str + (it.hasEOL ? '\n' : '')).join('');
    texts.push(t);
    chars += t.length;
    page.cleanup();
  }
  // the same joining as unpdf's extractText({ mergePages: true })
  const text = texts.join('\n').replace(/[^\S\n]+/g, ' ').replace(/ ?\n ?/g, '\n').replace(/\n{3,}/g, '\n\n');
  reply({ ok: true, pages, pagesRead, text: text.slice(0, args.maxChars * 2) });
}

main().catch((err) => {
  // an allocation refused by the memory cap (prlimit) is the same verdict as the inflate check
  if (err instanceof TooLarge || (err instanceof RangeError && /allocation failed|too large|Invalid array length/i.test(err.message))) reply({ ok: false, code: 'too_large', error: err.message });
  else reply({ ok: false, code: 'failed', error: String((err && err.message) || err).slice(0, 300) });
});
