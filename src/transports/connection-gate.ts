import { isIPv6 } from 'node:net';

/** Why `acquire` said no: the node is full, or this client address is. */
export const enum Refusal {
  none = 0,
  node = 1,
  address = 2,
}

/**
 * Counts live and admitting connections (WS + SSE) against
 * REALTIME_MAX_CONNECTIONS and, per client address, against
 * REALTIME_MAX_CONNECTIONS_PER_IP. A slot is taken before any async admission
 * work, so a burst cannot overshoot either limit; every `acquire` that said
 * yes is paired with one `release` of the same address.
 */
export class ConnectionGate {
  private used = 0;
  private readonly perAddress = new Map<string, number>();
  refusedNode = 0;
  refusedAddress = 0;

  /** `maxPerAddress` 0 = no per-address limit. */
  constructor(
    private readonly max: number,
    private readonly maxPerAddress = 0,
  ) {}

  /** Take a slot for a client at `address` (a socket's remoteAddress); `Refusal.none` when admitted. */
  acquire(address?: string): Refusal {
    if (this.used >= this.max) {
      this.refusedNode++;
      return Refusal.node;
    }
    if (this.maxPerAddress > 0) {
      const key = addressKey(address);
      const n = this.perAddress.get(key) ?? 0;
      if (n >= this.maxPerAddress) {
        this.refusedAddress++;
        return Refusal.address;
      }
      this.perAddress.set(key, n + 1);
    }
    this.used++;
    return Refusal.none;
  }

  release(address?: string): void {
    if (this.used > 0) this.used--;
    if (this.maxPerAddress > 0) {
      const key = addressKey(address);
      const n = this.perAddress.get(key);
      if (n === undefined) return;
      if (n <= 1) this.perAddress.delete(key);
      else this.perAddress.set(key, n - 1);
    }
  }

  get inUse(): number {
    return this.used;
  }

  /** Distinct client addresses holding slots (counted only with a per-address limit). */
  get addresses(): number {
    return this.perAddress.size;
  }

  /** The limit a refusal names in its message. */
  describe(refusal: Refusal): string {
    return refusal === Refusal.address
      ? `connection limit per client address reached (${this.maxPerAddress})`
      : `connection limit reached (${this.max})`;
  }
}

/**
 * The key one client is counted under: the IPv4 address (also when IPv4-mapped),
 * or the /64 prefix of an IPv6 address — one host usually holds a whole /64,
 * so counting single IPv6 addresses would be no limit at all.
 */
export function addressKey(address: string | undefined): string {
  if (address === undefined || address === '') return '?';
  if (address.startsWith('::ffff:') && address.includes('.')) return address.slice(7);
  if (!isIPv6(address)) return address;
  return expandIPv6(address).slice(0, 4).join(':') + '::/64';
}

function expandIPv6(address: string): string[] {
  const zone = address.indexOf('%');
  const a = zone === -1 ? address : address.slice(0, zone);
  const [head, tail] = a.includes('::') ? a.split('::') : [a, undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = tail === undefined ? [] : new Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0');
  return [...left, ...fill, ...right].map((h) => h.toLowerCase().replace(/^0+(?=.)/, ''));
}
