import type TurndownService from 'turndown';

/**
 * The document readers' libraries (HTML, DOCX, XLSX: about 44 MB of memory together) are loaded
 * on the first document a process reads, not when it starts: a worker that never reads one (an
 * agent-only or outbound-only process) never pays for them.
 */
export interface ExtractLibs {
  readonly parseHTML: (html: string) => unknown;
  readonly Readability: typeof import('@mozilla/readability').Readability;
  readonly ExcelJS: typeof import('exceljs');
  readonly mammoth: Pick<typeof import('mammoth'), 'convertToHtml'>;
  readonly TurndownService: typeof TurndownService;
  readonly gfm: typeof import('@joplin/turndown-plugin-gfm').gfm;
}

let loading: Promise<ExtractLibs> | undefined;

/** The readers' libraries, loaded once per process. */
export function extractLibs(): Promise<ExtractLibs> {
  loading ??= load().catch((err: unknown) => {
    loading = undefined;
    throw err;
  });
  return loading;
}

async function load(): Promise<ExtractLibs> {
  const [linkedom, readability, excel, mammoth, turndown, gfm] = await Promise.all([
    import('linkedom'),
    import('@mozilla/readability'),
    import('exceljs'),
    import('mammoth'),
    import('turndown'),
    import('@joplin/turndown-plugin-gfm'),
  ]);
  return {
    parseHTML: linkedom.parseHTML as unknown as (html: string) => unknown,
    Readability: readability.Readability,
    ExcelJS: excel.default,
    mammoth: mammoth.default,
    TurndownService: turndown.default,
    gfm: gfm.gfm,
  };
}
