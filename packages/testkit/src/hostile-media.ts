/**
 * Hostile media for attack tests, built in the test (nothing binary is checked in): an HLS
 * playlist posing as a voice note, a PDF decompression bomb, multi-page PDFs.
 */
import { createDeflate } from 'node:zlib';

/** An HLS playlist whose only segment is a local file: what ffmpeg would open if it trusted the bytes. */
export function hlsPlaylist(target: string): Buffer {
  return Buffer.from(`#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:10.0,\nfile://${target}\n#EXT-X-ENDLIST\n`);
}

/** An ffconcat list naming a local file (the other indirection ffmpeg knows). */
export function ffconcatList(target: string): Buffer {
  return Buffer.from(`ffconcat version 1.0\nfile '${target}'\n`);
}

/**
 * A PDF from raw objects (strings or buffers, numbered from 1; object 1 must be the catalog),
 * with a correct cross-reference table.
 */
export function pdfFromObjects(objects: Array<string | Buffer>): Buffer {
  const parts: Buffer[] = [Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1')];
  let size = parts[0]!.length;
  const offsets: number[] = [];
  objects.forEach((o, i) => {
    offsets.push(size);
    const b = Buffer.concat([Buffer.from(`${i + 1} 0 obj\n`, 'latin1'), typeof o === 'string' ? Buffer.from(o, 'latin1') : o, Buffer.from('\nendobj\n', 'latin1')]);
    parts.push(b);
    size += b.length;
  });
  const xref = `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${size}\n%%EOF\n`;
  parts.push(Buffer.from(xref, 'latin1'));
  return Buffer.concat(parts);
}

function streamObject(dict: string, data: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`<< ${dict} /Length ${data.length} >>\nstream\n`, 'latin1'), data, Buffer.from('\nendstream', 'latin1')]);
}

/** A PDF with one page per entry, each page showing its lines (Helvetica). */
export function multiPagePdf(pages: string[][]): Buffer {
  const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/\(/g, '\\(').replace(/\)/g, '\\)');
  const n = pages.length;
  // 1 catalog, 2 pages, 3 font, then page i at 4 + 2i and its content at 5 + 2i
  const objects: Array<string | Buffer> = ['<< /Type /Catalog /Pages 2 0 R >>', `<< /Type /Pages /Kids [${pages.map((_, i) => `${4 + 2 * i} 0 R`).join(' ')}] /Count ${n} >>`, '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>'];
  pages.forEach((lines, i) => {
    const content = ['BT', '/F1 12 Tf', '72 720 Td', '14 TL', ...lines.map((l, j) => (j === 0 ? `(${esc(l)}) Tj` : `T* (${esc(l)}) Tj`)), 'ET'].join('\n');
    objects.push(`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents ${5 + 2 * i} 0 R /Resources << /Font << /F1 3 0 R >> >> >>`);
    objects.push(streamObject('', Buffer.from(content, 'latin1')));
  });
  return pdfFromObjects(objects);
}

/** Deflates `total` bytes of `fill` without ever holding them: the bomb's payload stays ~1/1000 of its inflated size. */
async function deflateRepeated(total: number, fill: number): Promise<Buffer> {
  const z = createDeflate({ level: 9 });
  const out: Buffer[] = [];
  z.on('data', (c: Buffer) => out.push(c));
  const done = new Promise<void>((resolve, reject) => {
    z.on('end', resolve);
    z.on('error', reject);
  });
  const chunk = Buffer.alloc(Math.min(total, 8 * 1024 * 1024), fill);
  for (let left = total; left > 0; left -= chunk.length) {
    const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
    if (!z.write(piece)) await new Promise((r) => z.once('drain', r));
  }
  z.end();
  await done;
  return Buffer.concat(out);
}

/**
 * A one-page PDF whose content stream (`/FlateDecode`) inflates to `inflatedBytes` of spaces
 * (default 1 GiB) behind one line of real text: a decompression bomb a few hundred KB small.
 */
export async function pdfBomb(inflatedBytes = 1024 * 1024 * 1024): Promise<Buffer> {
  const payload = await deflateRepeated(inflatedBytes, 0x20);
  return pdfFromObjects([
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    streamObject('/Filter /FlateDecode', payload),
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ]);
}
