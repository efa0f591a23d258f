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

/** `UTC`, `Etc/UTC`, `Z` or a fixed offset such as `+02:00`: no time-zone database needed. */
function fixedOffsetMinutes(timeZone: string): number | null {
  if (/^(?:UTC|Etc\/UTC|GMT|Etc\/GMT|Z)$/i.test(timeZone)) return 0;
  const m = timeZone.match(/^(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2}))?$/i);
  if (!m) return null;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3] ?? 0));
}

function localTime(now: Date, timeZone: string): { day: string; minutes: number } {
  const offset = fixedOffsetMinutes(timeZone);
  if (offset !== null) {
    // loading the ICU time-zone data costs more than a whole check: avoid it when we can
    const shifted = new Date(now.getTime() + offset * 60_000);
    return { day: WEEKDAYS[shifted.getUTCDay()]!, minutes: shifted.getUTCHours() * 60 + shifted.getUTCMinutes() };
  }
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, f);
  }
  const parts = f.formatToParts(now);
  const get = (type: string): string => parts.find((p) => p.type === type)?.value ?? '';
  return { day: get('weekday').slice(0, 3).toLowerCase(), minutes: Number(get('hour')) * 60 + Number(get('minute')) };
}

function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return h! * 60 + m!;
}

export function isOffHours(now: Date, config: NonNullable<GateDefinition['context']['off_hours']>): boolean {
  const { day, minutes } = localTime(now, config.timezone);
  if (!config.working_days.some((d) => d === day)) return true;
  const start = minutesOf(config.start);
  const end = minutesOf(config.end);
  return start <= end ? minutes < start || minutes >= end : minutes < start && minutes >= end;
}

export function contextSignals(
  now: Date,
  programs: readonly string[],
  history: SessionHistory | null,
  context: GateDefinition['context'],
): ContextSignal[] {
  const signals: ContextSignal[] = [];
  if (context.off_hours && isOffHours(now, context.off_hours)) {
    const { day, minutes } = localTime(now, context.off_hours.timezone);
    const hh = String(Math.floor(minutes / 60)).padStart(2, '0');
    const mm = String(minutes % 60).padStart(2, '0');
    signals.push({
      id: 'context.off-hours',
      score: context.off_hours.score,
      message: `submitted off-hours (${day} ${hh}:${mm} ${context.off_hours.timezone})`,
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
