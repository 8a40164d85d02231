import { isIPv6 } from 'node:net';
import type { Duplex } from 'node:stream';

/** Why `acquire` said no: the node is full, or this client address is. */
export const enum Refusal {
  none = 0,
  node = 1,
  address = 2,
  /** The socket was already gone: nobody to admit, nothing taken. */
  gone = 3,
}

const kSlot = Symbol('hubcast.slot');
/** A socket holding a slot, and under which address (a destroyed socket forgets its remoteAddress). */
type Holder = Duplex & { [kSlot]?: Slot };

/** The slots one socket holds (more than one only for requests pipelined on one HTTP connection). */
class Slot {
  held = 1;
  constructor(
    readonly gate: ConnectionGate,
    readonly address: string,
  ) {}
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

  /**
   * Take a slot for the client on `socket`, owned by the socket from here on:
   * it is given back exactly once, when the socket closes — whatever step of
   * admission, handshake or session ends it (ws refusing a handshake destroys
   * the socket; so do a peer reset, a slow-client drop and a normal close) —
   * or earlier by `releaseFor` when a refusal leaves the socket open (an
   * HTTP keep-alive connection after an SSE refusal).
   */
  acquireFor(socket: Duplex, address: string): Refusal {
    // Closed already (or closing): its 'close' may have fired, and would never release.
    if (socket.destroyed) return Refusal.gone;
    const refusal = this.acquire(address);
    if (refusal !== Refusal.none) return refusal;
    const holder = socket as Holder;
    const slot = holder[kSlot];
    if (slot !== undefined) {
      slot.held++;
    } else {
      holder[kSlot] = new Slot(this, address);
      socket.once('close', releaseOnClose);
    }
    return Refusal.none;
  }

  /** Give back the slot `socket` holds now (no-op when it holds none): for refusals that keep the socket open. */
  releaseFor(socket: Duplex): void {
    const holder = socket as Holder;
    const slot = holder[kSlot];
    if (slot === undefined) return;
    slot.gate.release(slot.address);
    if (--slot.held > 0) return;
    holder[kSlot] = undefined;
    socket.removeListener('close', releaseOnClose);
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

function releaseOnClose(this: Duplex): void {
  const holder = this as Holder;
  const slot = holder[kSlot];
  if (slot === undefined) return;
  holder[kSlot] = undefined;
  for (; slot.held > 0; slot.held--) slot.gate.release(slot.address);
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
  return `${expandIPv6(address).slice(0, 4).join(':')}::/64`;
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
