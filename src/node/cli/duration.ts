import { InputError } from '../../shared/errors';

// Five units cover every flag we take; a dependency (the `ms` package's current release ships types that
// moduleResolution "Bundler" cannot see) would cost more than these lines.
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses a duration flag: `90s`, `10m`, `1.5h`, `2d`, `250ms`, or a bare number of milliseconds.
 * @param text - the flag value
 * @returns milliseconds
 * @throws InputError when the text is not a positive duration
 */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(text.trim());
  const amount = match?.[1] !== undefined ? Number(match[1]) : NaN;
  const value = Math.round(amount * (UNIT_MS[match?.[2] ?? 'ms'] ?? NaN));
  if (!Number.isFinite(value) || value <= 0) {
    throw new InputError(`"${text}" is not a duration (examples: 90s, 10m, 24h, 2d)`);
  }
  return value;
}
