import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { minimalPdf } from '@switchboard/testkit';
import { extractPdfText, extractPlainText } from './media.pdf.js';

describe('document text extraction', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sb-pdf-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('extracts the text of a generated PDF', async () => {
    const path = join(dir, 'invoice.pdf');
    await writeFile(path, minimalPdf(['Invoice 2026-117', 'Total due: 149.90 EUR (incl. VAT)']));
    const r = await extractPdfText(path, { maxChars: 10_000, timeoutMs: 20_000 });
    expect(r.pages).toBe(1);
    expect(r.truncated).toBe(false);
    expect(r.text).toContain('Invoice 2026-117');
    expect(r.text).toContain('Total due: 149.90 EUR (incl. VAT)');
  });

  it('cuts long text at the character cap and says so', async () => {
    const path = join(dir, 'long.pdf');
    await writeFile(path, minimalPdf(Array.from({ length: 40 }, (_, i) => `Line ${i} of a long contract with many clauses`)));
    const r = await extractPdfText(path, { maxChars: 100, timeoutMs: 20_000 });
    expect(r.truncated).toBe(true);
    expect(Array.from(r.text)).toHaveLength(100);
  });

  it('fails with a clear reason on a broken PDF', async () => {
    const path = join(dir, 'broken.pdf');
    await writeFile(path, Buffer.from('%PDF-1.4\nthis is not really a pdf'));
    await expect(extractPdfText(path, { maxChars: 100, timeoutMs: 20_000 })).rejects.toMatchObject({ reason: 'extraction_failed' });
  });

  it('reads plain text, dropping a BOM and normalising line ends', async () => {
    const path = join(dir, 'notes.txt');
    await writeFile(path, '\uFEFFOrder 42\r\nplease deliver after 5pm\r\n\r\n\r\n\r\nthanks');
    const r = await extractPlainText(path, { maxChars: 1000 });
    expect(r.text).toBe('Order 42\nplease deliver after 5pm\n\nthanks');
  });
});
