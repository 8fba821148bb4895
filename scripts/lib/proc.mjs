// Small process helpers shared by the benchmark and soak scripts.

/** Resolves with the first line a child prints on stdout (its "ready" line); rejects if it exits first. */
export function firstLine(child) {
  return new Promise((resolveLine, reject) => {
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d.toString();
      const i = buf.indexOf('\n');
      if (i >= 0) resolveLine(buf.slice(0, i));
    });
    child.on('exit', (c) => reject(new Error(`${child.label ?? 'child'} exited ${c}${child.tail ? `: ${child.tail}` : ''}`)));
  });
}

/** Polls a URL until it answers 2xx (bounded). */
export async function waitHttp(url, timeoutMs = 30_000) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    try {
      const r = await fetch(url);
      await r.arrayBuffer();
      if (r.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not come up within ${timeoutMs} ms`);
}
