/**
 * Tells a poison event (one the applier keeps throwing on) from an outage
 * (the applier throws on everything). A failure counts as a strike only if
 * some other event applied since this event's previous failure: while the
 * database is down nothing applies, so nothing is struck out.
 *
 * Bounded: at most `maxTracked` events are remembered (oldest forgotten), so
 * a long outage cannot grow it without limit.
 */
export class PoisonTracker {
  private readonly strikesToPoison: number;
  private readonly maxTracked: number;
  private readonly failures = new Map<string, { strikes: number; successesSeen: number }>();
  private successes = 0;

  constructor(strikesToPoison: number, maxTracked = 10_000) {
    this.strikesToPoison = strikesToPoison;
    this.maxTracked = maxTracked;
  }

  /** Record a failed apply of `eventId`; true when it is now considered poison. */
  failed(eventId: string): boolean {
    let f = this.failures.get(eventId);
    if (!f) {
      if (this.failures.size >= this.maxTracked) this.failures.delete(this.failures.keys().next().value!);
      // First failure: no strike yet; we only know the database worked at some point before.
      f = { strikes: 0, successesSeen: this.successes };
      this.failures.set(eventId, f);
      return false;
    }
    if (this.successes !== f.successesSeen) f.strikes++;
    f.successesSeen = this.successes;
    if (f.strikes >= this.strikesToPoison) {
      this.failures.delete(eventId);
      return true;
    }
    return false;
  }

  /** Record a successful apply (of any status) of `eventId`. */
  succeeded(eventId: string): void {
    this.successes++;
    this.failures.delete(eventId);
  }
}
