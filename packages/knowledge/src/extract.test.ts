import { crc32 } from 'node:zlib';
import ExcelJS from 'exceljs';
import { minimalPdf } from '@switchboard/testkit';
import { detectFormat, extractDocument, ExtractError, zipInflatedSize } from './extract';

const limits = { maxChars: 50_000, timeoutMs: 20_000 };

/** A ZIP of stored (uncompressed) files; `claim` overrides the declared uncompressed sizes. */
function storedZip(files: Record<string, string>, claim?: number): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, text] of Object.entries(files)) {
    const data = Buffer.from(text, 'utf8');
    const n = Buffer.from(name, 'utf8');
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(n.length, 26);
    locals.push(local, n, data);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(20, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt32LE(crc, 16);
    c.writeUInt32LE(data.length, 20);
    c.writeUInt32LE(claim ?? data.length, 24);
    c.writeUInt16LE(n.length, 28);
    c.writeUInt32LE(offset, 42);
    central.push(c, n);
    offset += 30 + n.length + data.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(files).length, 8);
  end.writeUInt16LE(Object.keys(files).length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

const W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"';
function docx(paragraphs: Array<{ style?: string; text: string }>, claim?: number): Buffer {
  const body = paragraphs.map((p) => `<w:p>${p.style ? `<w:pPr><w:pStyle w:val="${p.style}"/></w:pPr>` : ''}<w:r><w:t>${p.text}</w:t></w:r></w:p>`).join('');
  return storedZip(
    {
      '[Content_Types].xml': '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
      '_rels/.rels': '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>',
      'word/document.xml': `<?xml version="1.0"?><w:document ${W}><w:body>${body}</w:body></w:document>`,
    },
    claim,
  );
}

describe('detectFormat (sniffed from the bytes, names only for text)', () => {
  it('knows PDF, DOCX, XLSX, HTML, Markdown, CSV and text; refuses binary', async () => {
    expect(detectFormat(minimalPdf(['x']), { filename: 'a.txt' })).toBe('pdf');
    expect(detectFormat(docx([{ text: 'x' }]), { mimeType: 'text/plain' })).toBe('docx');
    const book = new ExcelJS.Workbook();
    book.addWorksheet('FAQ').addRow(['question', 'answer']);
    expect(detectFormat(Buffer.from(await book.xlsx.writeBuffer()))).toBe('xlsx');
    expect(detectFormat(Buffer.from('<!DOCTYPE html><p>hi</p>'))).toBe('html');
    expect(detectFormat(Buffer.from('# Title'), { filename: 'README.md' })).toBe('markdown');
    expect(detectFormat(Buffer.from('q,a'), { mimeType: 'text/csv; charset=utf-8' })).toBe('csv');
    expect(detectFormat(Buffer.from('plain words'))).toBe('text');
    expect(detectFormat(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2]))).toBeUndefined();
    expect(detectFormat(storedZip({ 'other.bin': 'x' }))).toBeUndefined();
  });
});

describe('extractDocument', () => {
  it('HTML: the main content only (no menu, footer or scripts), headings and tables kept', async () => {
    const html = `<!doctype html><html><head><title>Returns | Shop</title><script>alert(1)</script></head><body>
      <nav><a href="/">Home</a> <a href="/cart">Cart</a></nav>
      <article><h1>Returns policy</h1><p>You can return any item within 30 days of delivery. Items must be unused and in their original packaging, or a fee applies.</p>
      <h2>Germany</h2><p>Returns from Germany are free with DHL: print the label from your account and drop the parcel at a DHL shop.</p>
      <table><tr><th>Size</th><th>Fee</th></tr><tr><td>S</td><td>0 EUR</td></tr></table></article>
      <footer>© 2026 Shop · Imprint</footer></body></html>`;
    const out = await extractDocument(Buffer.from(html), 'html', limits);
    expect(out.title).toContain('Returns');
    expect(out.text).toMatch(/^#+ Germany$/m);
    expect(out.text).toContain('within 30 days');
    expect(out.text).toMatch(/\| Size \| Fee \|/);
    expect(out.text).not.toContain('Imprint');
    expect(out.text).not.toContain('alert');
  });

  it('DOCX: headings become sections', async () => {
    const out = await extractDocument(docx([{ style: 'Heading1', text: 'Warranty' }, { text: 'Two years on every device.' }]), 'docx', limits);
    expect(out.text).toBe('# Warranty\n\nTwo years on every device.');
    expect(out.title).toBe('Warranty');
  });

  it('a DOCX whose files claim to inflate past the cap is refused before parsing (zip bomb)', async () => {
    const bomb = docx([{ text: 'x' }], 200 * 1024 * 1024);
    expect(zipInflatedSize(bomb)).toBeGreaterThan(64 * 1024 * 1024);
    await expect(extractDocument(bomb, 'docx', limits)).rejects.toThrow(/too large to read/);
    await expect(extractDocument(Buffer.from('PK\x03\x04 broken', 'latin1'), 'docx', limits)).rejects.toBeInstanceOf(ExtractError);
  });

  it('CSV and XLSX FAQ sheets: one section per question (English and Chinese headers)', async () => {
    const csv = '\uFEFFquestion,answer\n"How long do returns take?","Refunds arrive within 5 days."\n,skipped\n';
    expect((await extractDocument(Buffer.from(csv), 'csv', limits)).text).toBe('## How long do returns take?\n\nRefunds arrive within 5 days.');
    const book = new ExcelJS.Workbook();
    const ws = book.addWorksheet('常见问题');
    ws.addRow(['问题', '答案']);
    ws.addRow(['退货期限是多久？', '自收货之日起30天内。']);
    const out = await extractDocument(Buffer.from(await book.xlsx.writeBuffer()), 'xlsx', limits);
    expect(out.text).toBe('## 退货期限是多久？\n\n自收货之日起30天内。');
    // a sheet without question/answer columns is kept as a table
    expect((await extractDocument(Buffer.from('sku,price\nA1,10\n'), 'csv', limits)).text).toBe('| sku | price |\n| --- | --- |\n| A1 | 10 |');
  });

  it('PDF through the bounded reader; empty text and long text are handled', async () => {
    expect((await extractDocument(minimalPdf(['Opening hours', 'Monday to Friday 9-18']), 'pdf', limits)).text).toContain('Monday to Friday');
    await expect(extractDocument(Buffer.from('   \n'), 'text', limits)).rejects.toThrow('no readable text');
    expect((await extractDocument(Buffer.from('word '.repeat(100)), 'text', { ...limits, maxChars: 50 })).text).toMatch(/\(document shortened\)$/);
  });
});
