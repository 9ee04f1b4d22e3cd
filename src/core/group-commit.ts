/**
 * Group commit for request paths that each write one row (decision 018): items arriving while a
 * write is in flight wait and go together in the next one, so the group grows with the load and one
 * statement and one WAL flush cover all of them. A write starts at the end of the event-loop turn
 * in which it became possible (`setImmediate`), so the requests one turn reads from their sockets
 * go together instead of the first going alone and the rest waiting for its round trip (decision
 * 038). A second (third, …) concurrent write starts only once `minParallel` items wait, since on a
 * busy machine each round trip also costs a context switch and small parallel writes cost more
 * than they save. Used by the single-message accept path and the inbox writer.
 */
export interface GroupCommitOptions<T> {
  /** Items per write. */
  maxRows: number;
  /** Writes in flight at once. */
  maxFlushes: number;
  /** Items that must be waiting before a write starts beside one already in flight. */
  minParallel: number;
  /** Writes a group; settles each item's own promise (never rejects: failures are the item's). */
  flush: (group: T[]) => Promise<void>;
  /** Which waiting items go together (default: the oldest maxRows); returns the group and the rest. */
  select?: (queue: T[], maxRows: number) => { group: T[]; rest: T[] };
}

const oldest = <T>(queue: T[], maxRows: number) => ({ group: queue.slice(0, maxRows), rest: queue.slice(maxRows) });

export class GroupCommit<T> {
  private queue: T[] = [];
  private flushing = 0;
  private scheduled = false;

  constructor(private readonly o: GroupCommitOptions<T>) {}

  push(item: T): void {
    this.queue.push(item);
    this.pump();
  }

  /** A write may start now: something waits, and either nothing is in flight or enough waits beside it. */
  private canStart(): boolean {
    return this.flushing < this.o.maxFlushes && this.queue.length > 0 && (this.flushing === 0 || this.queue.length >= this.o.minParallel);
  }

  /**
   * Starts what may start once this event-loop turn has queued what it read. Nothing is scheduled
   * while no write could start (the usual case under load: items wait for the write in flight,
   * whose end pumps again).
   */
  private pump(): void {
    if (this.scheduled || !this.canStart()) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.start();
    });
  }

  private start(): void {
    while (this.canStart()) {
      const { group, rest } = (this.o.select ?? oldest)(this.queue, this.o.maxRows);
      this.queue = rest;
      this.flushing += 1;
      void this.o.flush(group).finally(() => {
        this.flushing -= 1;
        this.pump();
      });
    }
  }
}
