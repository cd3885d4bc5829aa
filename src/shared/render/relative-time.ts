/**
 * A time relative to now, in words, for people: `in 40 s`, `in 25 min`, `in 5 h`, `in 3 d`, `overdue by 3 h`. Seconds
 * under a minute, minutes under an hour, hours under two days, then days.
 * @param iso - an ISO-8601 time
 * @param now - the reference time, ms since the epoch (default now)
 * @returns the relative time; `unknown` when `iso` is not a time
 * @example relativeTime('2026-12-02T10:25:00Z', Date.parse('2026-12-02T10:00:00Z')) // 'in 25 min'
 */
export function relativeTime(iso: string, now: number = Date.now()): string {
  const ms = Date.parse(iso) - now;
  if (Number.isNaN(ms)) return 'unknown';
  const abs = Math.abs(ms);
  const words =
    abs < 60_000
      ? `${Math.round(abs / 1000)} s`
      : abs < 3_600_000
        ? `${Math.round(abs / 60_000)} min`
        : abs < 172_800_000
          ? `${Math.round(abs / 3_600_000)} h`
          : `${Math.round(abs / 86_400_000)} d`;
  return ms >= 0 ? `in ${words}` : `overdue by ${words}`;
}
