import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { minimalPdf, multiPagePdf, pdfBomb } from '@switchboard/testkit';
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

  describe('bounded in memory, inflated bytes, pages and time', () => {
    let bomb: string;
    beforeAll(async () => {
      bomb = join(dir, 'bomb.pdf');
      // ~1 MB on disk, a content stream that inflates to 1 GiB of spaces
      await writeFile(bomb, await pdfBomb(1024 * 1024 * 1024));
    }, 60_000);

    it('a 1 GiB decompression bomb is "too large to read"; this process stays small and its event loop free', async () => {
      const rssBefore = process.memoryUsage().rss;
      let ticks = 0;
      const tick = setInterval(() => (ticks += 1), 10);
      const started = Date.now();
      const err = await extractPdfText(bomb, { maxChars: 1000, timeoutMs: 20_000, what: 'the document "bomb.pdf"' }).catch((e: unknown) => e);
      clearInterval(tick);
      const ms = Date.now() - started;
      expect(err).toMatchObject({ reason: 'too_large', retryable: false });
      expect((err as Error).message).toBe('the document "bomb.pdf" is too large to read (content streams inflate to more than 64 MB)');
      // the inflating happened in the child: this process grew by far less than the bomb
      expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 * 1024 * 1024);
      // and its event loop kept running (a 10 ms timer fired through most of the wait)
      expect(ticks).toBeGreaterThan(ms / 10 / 4);
    });

    it('without the inflate check the memory cap of the child still ends it: too large, never this process', async () => {
      const rssBefore = process.memoryUsage().rss;
      const err = await extractPdfText(bomb, { maxChars: 1000, timeoutMs: 30_000, maxInflatedBytes: 4 * 1024 ** 3, memoryMb: 200 }).catch((e: unknown) => e);
      expect(err).toMatchObject({ reason: 'too_large' });
      expect((err as Error).message).toMatch(/^the PDF is too large to read \(reading it needs more than 200 MB of memory\)$/);
      expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 * 1024 * 1024);
    });

    it('a bomb under the inflate cap is read normally (the cap is a sum, not a guess)', async () => {
      const small = join(dir, 'small-bomb.pdf');
      await writeFile(small, await pdfBomb(8 * 1024 * 1024));
      const r = await extractPdfText(small, { maxChars: 100, timeoutMs: 20_000 });
      expect(r.pages).toBe(1);
      expect(r.text).toBe('');
    });

    it('reads only the first MEDIA_DOCUMENT_MAX_PAGES pages', async () => {
      const path = join(dir, 'pages.pdf');
      await writeFile(path, multiPagePdf(Array.from({ length: 7 }, (_, i) => [`Page ${i + 1} heading`])));
      const r = await extractPdfText(path, { maxChars: 10_000, timeoutMs: 20_000, maxPages: 3 });
      expect(r).toMatchObject({ pages: 7, pagesRead: 3 });
      expect(r.text).toBe('Page 1 heading\nPage 2 heading\nPage 3 heading');
    });

    it('a reader past its time limit is killed with a clear reason', async () => {
      const err = await extractPdfText(bomb, { maxChars: 100, timeoutMs: 50, maxInflatedBytes: 4 * 1024 ** 3 }).catch((e: unknown) => e);
      expect(err).toMatchObject({ reason: 'extraction_failed' });
      expect((err as Error).message).toBe('the PDF could not be read within 0 s');
    });
  });

  it('reads plain text, dropping a BOM and normalising line ends', async () => {
    const path = join(dir, 'notes.txt');
    await writeFile(path, '\uFEFFOrder 42\r\nplease deliver after 5pm\r\n\r\n\r\n\r\nthanks');
    const r = await extractPlainText(path, { maxChars: 1000 });
    expect(r.text).toBe('Order 42\nplease deliver after 5pm\n\nthanks');
  });
});
