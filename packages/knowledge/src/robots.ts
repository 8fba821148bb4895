/**
 * robots.txt as crawlers read it (RFC 9309): the group of the most specific user agent that names
 * ours (else `*`), its Allow/Disallow rules by longest match (`*` wildcards, `$` end anchor), Allow
 * winning a tie. Nothing else of the file (Crawl-delay, Sitemap) is used.
 */
export interface Robots {
  /** Whether `path` (path and query of a URL) may be fetched. */
  allowed(path: string): boolean;
}

interface Rule {
  readonly allow: boolean;
  readonly pattern: string;
}

/** Everything allowed (no robots.txt, or one that says nothing for us). */
export const ALLOW_ALL: Robots = { allowed: () => true };
/** Nothing allowed (the site's robots.txt could not be read: RFC 9309 says assume disallowed). */
export const DISALLOW_ALL: Robots = { allowed: () => false };

function matcher(pattern: string): RegExp {
  const anchored = pattern.endsWith('$');
  const body = (anchored ? pattern.slice(0, -1) : pattern)
    .split('*')
    .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}${anchored ? '$' : ''}`);
}

/** Parses `text` for the crawler whose product token is `agent` (e.g. `switchboard-gateway`). */
export function parseRobots(text: string, agent: string): Robots {
  const token = agent.toLowerCase();
  const groups: Array<{ agents: string[]; rules: Rule[] }> = [];
  let current: { agents: string[]; rules: Rule[] } | undefined;
  let lastWasAgent = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/#.*$/, '').trim();
    const m = /^([A-Za-z-]+)\s*:\s*(.*)$/.exec(line);
    if (!m) continue;
    const key = m[1]!.toLowerCase();
    const value = m[2]!.trim();
    if (key === 'user-agent') {
      if (!current || !lastWasAgent) groups.push((current = { agents: [], rules: [] }));
      current.agents.push(value.toLowerCase());
      lastWasAgent = true;
      continue;
    }
    lastWasAgent = false;
    if (!current || (key !== 'allow' && key !== 'disallow')) continue;
    // an empty Disallow allows everything: no rule
    if (value) current.rules.push({ allow: key === 'allow', pattern: value });
  }
  const named = groups.filter((g) => g.agents.some((a) => a !== '*' && token.includes(a)));
  const chosen = named.length > 0 ? named : groups.filter((g) => g.agents.includes('*'));
  const rules = chosen.flatMap((g) => g.rules).map((r) => ({ ...r, re: matcher(r.pattern) }));
  if (rules.length === 0) return ALLOW_ALL;
  return {
    allowed(path: string): boolean {
      let best: { allow: boolean; length: number } | undefined;
      for (const r of rules) {
        if (!r.re.test(path)) continue;
        const length = r.pattern.length;
        if (!best || length > best.length || (length === best.length && r.allow)) best = { allow: r.allow, length };
      }
      return best?.allow ?? true;
    },
  };
}
