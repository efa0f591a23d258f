/**
 * Context signals: off-hours, bursts and novelty. Time and history are inputs (`now`, counts
 * read from the store), so a decision can be replayed exactly.
 */
import type { SessionHistory } from '../model/history.js';
import type { GateDefinition } from '../policy/types.js';

export interface ContextSignal {
  readonly id: 'context.off-hours' | 'context.burst' | 'context.novelty';
  readonly score: number;
  readonly message: string;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/** The zone off-hours are judged in when gate.yaml names none and no system zone is given. */
export const DEFAULT_TIME_ZONE = 'UTC';

/** `UTC`, `Etc/UTC`, `Z` or a fixed offset such as `+02:00`: no time-zone database needed. */
function fixedOffsetMinutes(timeZone: string): number | null {
  if (/^(?:UTC|Etc\/UTC|GMT|Etc\/GMT|Z)$/i.test(timeZone)) return 0;
  const m = timeZone.match(/^(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2}))?$/i);
  if (!m) return null;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3] ?? 0));
}

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      weekday: 'short',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** An IANA zone name this runtime knows (Intl throws a RangeError for any other). */
function isIanaZone(name: string): boolean {
  if (formatters.has(name)) return true;
  try {
    formatter(name);
    return true;
  } catch {
    return false;
  }
}

/** A zone gate.yaml may name: UTC, a fixed offset (+02:00), or an IANA name (Europe/Paris). */
export function isTimeZone(name: string): boolean {
  return fixedOffsetMinutes(name) !== null || isIanaZone(name);
}

/**
 * The zone off-hours are judged in: the one gate.yaml names (checked when the policy loads), else
 * the system's as the front end found it (TZ, /etc/localtime), else UTC. A system zone is an IANA
 * name or UTC as Node reads TZ: one it does not know counts as UTC, as it does for Node's clock.
 */
export function judgedTimeZone(configured: string | undefined, systemZone: string | undefined): string {
  if (configured !== undefined) return configured;
  if (systemZone === undefined || systemZone === '') return DEFAULT_TIME_ZONE;
  if (/^(?:UTC|Etc\/UTC|GMT|Etc\/GMT)$/i.test(systemZone)) return systemZone;
  return isIanaZone(systemZone) ? (formatter(systemZone).resolvedOptions().timeZone ?? systemZone) : DEFAULT_TIME_ZONE;
}

interface LocalTime {
  readonly day: string;
  readonly minutes: number;
  /** ISO 8601 with the zone's offset at that instant, to the second: 2026-01-07T23:10:00+01:00 */
  readonly iso: string;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

function localTime(now: Date, timeZone: string): LocalTime {
  // to the second, as the local time is shown: the offset is exact minutes
  const at = Math.floor(now.getTime() / 1000) * 1000;
  let offset = fixedOffsetMinutes(timeZone);
  let wall: Date;
  if (offset !== null) {
    // loading the ICU time-zone data costs more than a whole check: avoid it when we can
    wall = new Date(at + offset * 60_000);
  } else {
    const parts = formatter(timeZone).formatToParts(new Date(at));
    const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value ?? NaN);
    wall = new Date(Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second')));
    offset = Math.round((wall.getTime() - at) / 60_000);
  }
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  const iso =
    `${pad(wall.getUTCFullYear(), 4)}-${pad(wall.getUTCMonth() + 1)}-${pad(wall.getUTCDate())}` +
    `T${pad(wall.getUTCHours())}:${pad(wall.getUTCMinutes())}:${pad(wall.getUTCSeconds())}` +
    `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
  return { day: WEEKDAYS[wall.getUTCDay()]!, minutes: wall.getUTCHours() * 60 + wall.getUTCMinutes(), iso };
}

function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return h! * 60 + m!;
}

type OffHoursConfig = NonNullable<GateDefinition['context']['off_hours']>;

/** The local time a command is judged at, in the zone off-hours are judged in, and whether it is off-hours. */
export interface WorkingHours {
  /** ISO 8601 with the zone's offset: 2026-01-07T23:10:00+01:00 */
  readonly local_time: string;
  readonly time_zone: string;
  readonly off_hours: boolean;
}

export function workingHours(now: Date, config: OffHoursConfig, systemZone?: string): WorkingHours {
  const time_zone = judgedTimeZone(config.timezone, systemZone);
  const { day, minutes, iso } = localTime(now, time_zone);
  const start = minutesOf(config.start);
  const end = minutesOf(config.end);
  const outside = start <= end ? minutes < start || minutes >= end : minutes < start && minutes >= end;
  return { local_time: iso, time_zone, off_hours: !config.working_days.some((d) => d === day) || outside };
}

export function isOffHours(now: Date, config: OffHoursConfig, systemZone?: string): boolean {
  return workingHours(now, config, systemZone).off_hours;
}

/**
 * The context signals of a command submitted at `now`. `systemZone` is the zone off-hours are
 * judged in when gate.yaml names none (see judgedTimeZone).
 */
export function contextSignals(
  now: Date,
  programs: readonly string[],
  history: SessionHistory | null,
  context: GateDefinition['context'],
  systemZone?: string,
): ContextSignal[] {
  const signals: ContextSignal[] = [];
  const hours = context.off_hours ? workingHours(now, context.off_hours, systemZone) : null;
  if (context.off_hours && hours?.off_hours) {
    // the weekday of the local date (a date alone parses as midnight UTC)
    const day = WEEKDAYS[new Date(hours.local_time.slice(0, 10)).getUTCDay()];
    signals.push({
      id: 'context.off-hours',
      score: context.off_hours.score,
      message: `submitted off-hours (${day} ${hours.local_time.slice(11, 16)} ${hours.time_zone})`,
    });
  }
  if (history && context.burst && history.recentCount + 1 > context.burst.max_commands) {
    signals.push({
      id: 'context.burst',
      score: context.burst.score,
      message:
        `${history.recentCount + 1} commands in ${context.burst.window_seconds}s in this session ` +
        `(more than ${context.burst.max_commands})`,
    });
  }
  if (history && context.novelty && history.total > 0) {
    const fresh = [...new Set(programs)].filter((p) => !history.programs.has(p));
    if (fresh.length > 0) {
      signals.push({
        id: 'context.novelty',
        score: context.novelty.score,
        message: `first use in this session of ${fresh.slice(0, 5).join(', ')}`,
      });
    }
  }
  return signals;
}
