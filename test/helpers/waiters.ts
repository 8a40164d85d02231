/** What a test client waits on: its frame handlers call wake(), each waiter re-checks its condition. */
export class Waiters {
  private waiting: Array<() => void> = [];

  /** Wakes everyone waiting (a frame arrived, the connection closed). */
  wake(): void {
    const w = this.waiting;
    this.waiting = [];
    for (const f of w) f();
  }

  /**
   * The first value other than undefined that `check` returns, re-checked at every wake() (and at
   * least every `pollMs`); `check` throws to give up early. Throws `timedOut()` after `timeoutMs`.
   */
  async until<T>(check: () => T | undefined, timeoutMs: number, timedOut: () => string, pollMs = Infinity): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = check();
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(timedOut());
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, pollMs));
        this.waiting.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}
