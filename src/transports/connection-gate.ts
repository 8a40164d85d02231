/**
 * Counts live and admitting connections (WS + SSE) against
 * REALTIME_MAX_CONNECTIONS. A slot is taken before any async admission work,
 * so a burst cannot overshoot the limit.
 */
export class ConnectionGate {
  private used = 0;
  constructor(private readonly max: number) {}

  acquire(): boolean {
    if (this.used >= this.max) return false;
    this.used++;
    return true;
  }

  release(): void {
    if (this.used > 0) this.used--;
  }

  get inUse(): number {
    return this.used;
  }
}
