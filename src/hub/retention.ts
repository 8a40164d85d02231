import { matchPattern } from '../auth/permissions.js';

/** How much history one channel keeps: `count` events, none older than `maxAgeMs` (0 = no age limit). */
export interface Retention {
  count: number;
  maxAgeMs: number;
}

interface Rule extends Retention {
  pattern: string;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Per-channel-pattern retention, e.g. `HISTORY_RETENTION="chat:*=500/1h,products=1000/10m"`.
 * The first matching rule wins; channels no rule matches keep the default
 * (`HISTORY_SIZE` events, no age limit).
 */
export class RetentionPolicy {
  private readonly rules: Rule[];
  private readonly fallback: Retention;
  /** Channel → retention, so a publish never scans the rules twice for one channel. */
  private readonly cache = new Map<string, Retention>();

  constructor(rules: Rule[], fallback: Retention) {
    this.rules = rules;
    this.fallback = fallback;
  }

  static parse(spec: string | undefined, fallback: Retention): RetentionPolicy {
    const rules: Rule[] = [];
    for (const part of (spec ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      const m = /^([A-Za-z0-9_\-:.@/=*?]{1,128})=(\d{1,7})(?:\/(\d{1,9})(ms|s|m|h|d))?$/.exec(part);
      if (m === null) throw new Error(`"${part}" is not pattern=count or pattern=count/age (age like 90s, 10m, 24h)`);
      rules.push({ pattern: m[1], count: Number(m[2]), maxAgeMs: m[3] === undefined ? 0 : Number(m[3]) * UNITS[m[4]] });
    }
    return new RetentionPolicy(rules, fallback);
  }

  for(channel: string): Retention {
    let r = this.cache.get(channel);
    if (r === undefined) {
      r = this.rules.find((rule) => matchPattern(rule.pattern, channel)) ?? this.fallback;
      if (this.cache.size >= 10_000) this.cache.clear();
      this.cache.set(channel, r);
    }
    return r;
  }
}
