// Progress of the turbo build in `pnpm start`. turbo runs with `--output-logs=full
// --log-order=grouped`, which prints each task's whole output as one block when the task ends; the
// block's first line is `<package>:<task>: cache hit|miss|bypass …`. So each such line is one task
// done, and `Running <task> in N packages` gives the total. Task output is kept and shown only when
// the build fails.

/** Arguments for `turbo run build` that make its output parseable by {@link createBuildProgress}. */
export const TURBO_BUILD_ARGS = ['exec', 'turbo', 'run', 'build', '--output-logs=full', '--log-order=grouped'];

/**
 * Returns a line consumer. `report(s)` receives one short line per finished task
 * (`built 5/13 @switchboard/queue`) that really ran (cache hits are only counted); `failureLog()` the task output for an error report.
 * @param {{ report: (s: string) => void, keepLines?: number }} opts
 */
export function createBuildProgress({ report, keepLines = 400 }) {
  let total = 0;
  let done = 0;
  let cached = 0;
  const kept = [];
  const headerRe = /^(\S+?):(\w[\w-]*): cache (hit|miss|bypass)/;
  return {
    /** Feed one line of turbo output (stdout or stderr). */
    line(raw) {
      // grouped logs may carry ANSI colours when FORCE_COLOR is set
      const line = raw.replace(/\x1b\[[0-9;]*m/g, '');
      const scope = /Running \S+ in (\d+) packages?/.exec(line);
      if (scope) {
        total = Number(scope[1]);
        return;
      }
      const header = headerRe.exec(line);
      if (header) {
        done += 1;
        // cache hits replay in milliseconds: only tasks that really ran are worth a line
        if (header[3] === 'hit') cached += 1;
        else report(`built ${done}/${total || '?'} ${header[1]}`);
      }
      if (line.trim() !== '') {
        kept.push(line);
        if (kept.length > keepLines) kept.shift();
      }
    },
    /** Counts so far. */
    get counts() {
      return { total, done, cached };
    },
    /** The kept task output, for a failed build. */
    failureLog() {
      return kept.join('\n');
    },
  };
}
