import type { BrokerDelivery, DeliveryHandler } from '../../src/broker/broker.js';

/**
 * Collects deliveries so a test can await them one by one. `next` waits for
 * a condition (a delivery), bounded so a missing message fails the test with
 * a clear message instead of hanging it.
 */
export class Inbox {
  private readonly items: BrokerDelivery[] = [];
  private readonly waiters: Array<(d: BrokerDelivery) => void> = [];
  readonly handler: DeliveryHandler = (d) => {
    const w = this.waiters.shift();
    if (w) w(d);
    else this.items.push(d);
  };

  get buffered(): number {
    return this.items.length;
  }

  next(timeoutMs = 10_000): Promise<BrokerDelivery> {
    const ready = this.items.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new Error(`no delivery within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (d: BrokerDelivery) => {
        clearTimeout(timer);
        resolve(d);
      };
      this.waiters.push(waiter);
    });
  }

  async take(n: number, timeoutMs = 10_000): Promise<BrokerDelivery[]> {
    const out: BrokerDelivery[] = [];
    for (let i = 0; i < n; i++) out.push(await this.next(timeoutMs));
    return out;
  }
}
