import { SYNC_MESSAGE, queryMessage } from './wire.js';

/**
 * PGlite is one PostgreSQL backend: one session, one transaction at a time. Many client
 * connections share it here, with the rules a real server gives them for free:
 *
 * - A client's messages run as whole units: a simple Query, or an extended-protocol sequence
 *   (Parse/Bind/Describe/Execute/Close…) up to its Sync or Flush. Units of different connections
 *   never interleave, so the unnamed statement and portal of one client are never another's.
 *   (@electric-sql/pglite-socket 0.2.x queues single messages and interleaves them: electric-sql/pglite#1046.)
 * - While a connection has a transaction open (or an extended sequence flushed but not synced), only
 *   its units run; the others wait. A connection idle in a transaction longer than
 *   `idleInTransactionMs` while others wait is closed (its transaction rolled back), like
 *   `idle_in_transaction_session_timeout`.
 * - A unit that fails inside PGlite fails only its connection; the queue goes on.
 *
 * Session state is shared: `SET` (without LOCAL), temporary tables, named prepared statements and
 * session advisory locks are visible to every connection. Clients of the embedded store use
 * transaction-scoped settings and locks only.
 */

/** The one backend (a PGlite instance). */
export interface Backend {
  /** Runs raw protocol bytes; `onData` receives the backend's answer. */
  run(bytes: Uint8Array, onData: (data: Uint8Array) => void): Promise<void>;
  /** True between BEGIN and COMMIT/ROLLBACK (also in a failed transaction). */
  inTransaction(): boolean;
}

interface Unit {
  readonly conn: number;
  readonly bytes: Buffer;
  /** Ends with Flush: the extended sequence goes on, so the backend stays this connection's. */
  readonly open: boolean;
  readonly onData: (data: Uint8Array) => void;
  readonly onError: (err: unknown) => void;
}

/** Options of {@link SharedSession}. */
export interface SharedSessionOptions {
  readonly idleInTransactionMs?: number;
  /** Called when a connection holds the backend idle for too long: close its socket. */
  readonly onIdleOwner?: (conn: number) => void;
}

/** Messages that end a unit: simple Query, Sync, Flush, CopyDone, CopyFail, FunctionCall. */
const ENDS_UNIT = new Set(['Q', 'S', 'H', 'c', 'f', 'F']);

export class SharedSession {
  private readonly partial = new Map<number, Buffer[]>();
  private readonly queue: Unit[] = [];
  private owner: number | null = null;
  private ownerOpen = false;
  private running = false;
  /** Connection whose unit is running now. */
  private current: number | null = null;
  /** Closed connections that still held the backend (cleaned up by the pump). */
  private readonly closed = new Set<number>();
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly idleMs: number;

  constructor(
    private readonly backend: Backend,
    private readonly opts: SharedSessionOptions = {},
  ) {
    this.idleMs = opts.idleInTransactionMs ?? 60_000;
  }

  /**
   * Takes one message of connection `conn` (the startup message included). Messages inside a unit
   * are held until the unit is complete; the backend's answer to the unit goes to `onData`.
   */
  submit(conn: number, type: string, bytes: Buffer, onData: (data: Uint8Array) => void, onError: (err: unknown) => void): void {
    const parts = this.partial.get(conn) ?? [];
    parts.push(bytes);
    if (type !== 'startup' && !ENDS_UNIT.has(type)) {
      this.partial.set(conn, parts);
      return;
    }
    this.partial.delete(conn);
    this.queue.push({ conn, bytes: parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts), open: type === 'H', onData, onError });
    void this.pump();
  }

  /**
   * Forgets a closed connection: its waiting messages are dropped and, if it held the backend, its
   * extended sequence is synced and its transaction rolled back before anyone else runs.
   */
  release(conn: number): void {
    this.partial.delete(conn);
    for (let i = this.queue.length - 1; i >= 0; i--) if (this.queue[i]?.conn === conn) this.queue.splice(i, 1);
    if (this.owner === conn || this.current === conn) {
      this.closed.add(conn);
      void this.pump();
    }
  }

  /** Units waiting to run (for stats and tests). */
  get waiting(): number {
    return this.queue.length;
  }

  private setOwner(conn: number | null, open: boolean): void {
    this.owner = conn;
    this.ownerOpen = open;
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (;;) {
        if (this.owner !== null && this.closed.has(this.owner)) await this.cleanUp(this.owner);
        const owner = this.owner;
        const index = owner === null ? (this.queue.length > 0 ? 0 : -1) : this.queue.findIndex((u) => u.conn === owner);
        if (index < 0) break;
        const [unit] = this.queue.splice(index, 1) as [Unit];
        clearTimeout(this.idleTimer);
        this.idleTimer = undefined;
        this.current = unit.conn;
        try {
          await this.backend.run(unit.bytes, unit.onData);
        } catch (err) {
          unit.onError(err);
        } finally {
          this.current = null;
        }
        const held = this.backend.inTransaction() || unit.open;
        this.setOwner(held ? unit.conn : null, unit.open);
        if (!held) this.closed.delete(unit.conn);
      }
    } finally {
      this.running = false;
    }
    this.watchIdleOwner();
  }

  private async cleanUp(conn: number): Promise<void> {
    const discard = () => {};
    try {
      if (this.ownerOpen) await this.backend.run(SYNC_MESSAGE, discard);
      if (this.backend.inTransaction()) await this.backend.run(queryMessage('ROLLBACK'), discard);
    } catch {
      // the next unit finds the backend as it is; nothing better to do for a gone client
    } finally {
      this.closed.delete(conn);
      this.setOwner(null, false);
    }
  }

  /** Others wait while the owner sends nothing: give it `idleMs`, then have it closed. */
  private watchIdleOwner(): void {
    const owner = this.owner;
    if (owner === null || this.idleTimer || !this.queue.some((u) => u.conn !== owner)) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.owner === owner && !this.queue.some((u) => u.conn === owner)) this.opts.onIdleOwner?.(owner);
    }, this.idleMs);
    this.idleTimer.unref();
  }
}
