/**
 * `fn` with its results kept for the last `max` distinct arguments, for pure functions called with
 * the same short string many times per message (a conversation id hashed, a customer's text
 * normalised). When full, everything is forgotten at once (cheaper than an LRU's bookkeeping on a
 * hot path); arguments longer than `maxArgChars` are not kept.
 */
export function memoizeRecent<T>(fn: (arg: string) => T, max: number, maxArgChars = 1000): (arg: string) => T {
  const recent = new Map<string, T>();
  return (arg: string) => {
    if (arg.length > maxArgChars) return fn(arg);
    if (recent.has(arg)) return recent.get(arg) as T;
    const value = fn(arg);
    if (recent.size >= max) recent.clear();
    recent.set(arg, value);
    return value;
  };
}
