import { SignJWT } from 'jose';
import { ConfigError } from '../config/config.js';

export interface DevTokenArgs {
  sub: string;
  channels?: string[];
  /** Lifetime in seconds. */
  ttlSeconds: number;
}

export const TOKEN_USAGE = `usage: hubcast token --sub <user id> [--channels <patterns>] [--ttl <duration>]

  Prints an HS256 token signed with JWT_SECRET (from the environment or .env), for development.

  --sub <id>            the user id (claim sub); required
  --channels <list>     comma-separated channel patterns the user may join and publish to,
                        e.g. 'orders,chat:*' (claim channels); default: none beyond the public ones
  --ttl <duration>      lifetime: <n>s, <n>m, <n>h or <n>d; default 1h

  example: npx hubcast token --sub alice --channels 'orders,chat:*' --ttl 1h`;

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `90`, `90s`, `15m`, `1h`, `7d` → seconds; throws a ConfigError naming `--ttl` otherwise. */
export function parseTtl(value: string): number {
  const m = /^([0-9]{1,9})([smhd]?)$/.exec(value.trim());
  const seconds = m === null ? NaN : Number(m[1]) * UNITS[m[2] || 's'];
  if (!Number.isSafeInteger(seconds) || seconds <= 0 || seconds > 366 * 86_400) {
    throw new ConfigError(
      '--ttl',
      `expected a duration such as 30m, 1h or 7d, at most 366d (got ${JSON.stringify(value)})`,
    );
  }
  return seconds;
}

/** Parse `hubcast token` arguments (`--x v` or `--x=v`); a ConfigError names what was wrong. */
export function parseTokenArgs(argv: readonly string[]): DevTokenArgs {
  const values: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (name !== '--sub' && name !== '--channels' && name !== '--ttl')
      throw new ConfigError(arg, 'unknown argument (see hubcast token --help)');
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new ConfigError(name, `expected a value after ${name}`);
    values[name] = value;
  }
  const sub = values['--sub']?.trim();
  if (!sub) throw new ConfigError('--sub', 'required: the user id the token is for (--sub alice)');
  if (sub.length > 128) throw new ConfigError('--sub', 'at most 128 characters');
  const args: DevTokenArgs = { sub, ttlSeconds: parseTtl(values['--ttl'] ?? '1h') };
  if (values['--channels'] !== undefined) {
    const channels = values['--channels']
      .split(',')
      .map((c) => c.trim())
      .filter((c) => c !== '');
    if (channels.length === 0)
      throw new ConfigError('--channels', "expected comma-separated patterns such as 'orders,chat:*'");
    args.channels = channels;
  }
  return args;
}

/** Sign a development token with the HS256 secret the gateway verifies with. */
export function signDevToken(secret: string, args: DevTokenArgs, now = Date.now()): Promise<string> {
  const claims: Record<string, unknown> = args.channels === undefined ? {} : { channels: args.channels };
  const iat = Math.floor(now / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(args.sub)
    .setIssuedAt(iat)
    .setExpirationTime(iat + args.ttlSeconds)
    .sign(new TextEncoder().encode(secret));
}
