/** Text for the page: no DOM here, so the Node tests can check it. */

/** "just now", "42 s ago", "3 min ago", "2 h ago", "5 d ago"; "in 20 min" for future times. */
export function relativeTime(iso: string | null, now: number): string {
  if (!iso) return 'never';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const diff = now - t;
  const future = diff < 0;
  const s = Math.abs(diff) / 1000;
  if (s < 5) return future ? 'in a moment' : 'just now';
  const text = s < 60 ? `${Math.floor(s)} s` : s < 3600 ? `${Math.floor(s / 60)} min` : s < 86_400 ? `${Math.floor(s / 3600)} h` : `${Math.floor(s / 86_400)} d`;
  return future ? `in ${text}` : `${text} ago`;
}

/** A local clock time for titles and banners: "14:03:05", with the date when not today. */
export function clockTime(iso: string, now: number): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  return new Date(now).toDateString() === d.toDateString() ? time : `${d.toLocaleDateString()} ${time}`;
}

export function latency(ms: number | null): string {
  if (ms === null) return '—';
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

export function mebibytes(mib: number): string {
  return mib >= 1024 ? `${(mib / 1024).toFixed(1)} GiB` : `${Math.round(mib)} MiB`;
}

/** Words for a state, never colour alone: the badge shows a shape and this word. */
export const STATE_WORDS: Record<string, { word: string; mark: string; tone: 'ok' | 'warn' | 'bad' | 'busy' | 'idle' }> = {
  healthy: { word: 'healthy', mark: '✓', tone: 'ok' },
  degraded: { word: 'degraded', mark: '!', tone: 'warn' },
  starting: { word: 'starting', mark: '…', tone: 'busy' },
  restarting: { word: 'restarting', mark: '↻', tone: 'busy' },
  unhealthy: { word: 'unhealthy', mark: '!', tone: 'bad' },
  down: { word: 'down', mark: '✕', tone: 'bad' },
  gave_up: { word: 'gave up restarting', mark: '✕', tone: 'bad' },
  unknown: { word: 'unknown', mark: '?', tone: 'idle' },
};

export function stateInfo(state: string): { word: string; mark: string; tone: string } {
  return STATE_WORDS[state] ?? { word: state, mark: '?', tone: 'idle' };
}

/** Matchers for a silence of one alert: its identifying labels, never severity (a rule attribute). */
export function silenceMatchers(labels: Record<string, string>): string[] {
  const keys = ['alertname', 'host', 'service', 'gpu'];
  return keys.filter((k) => labels[k] !== undefined && labels[k] !== '').map((k) => `${k}=${JSON.stringify(labels[k])}`);
}

/** Whether `text` (the filter box, lower-cased) is found in any of `fields`. */
export function matchesFilter(filter: string, ...fields: (string | null | undefined)[]): boolean {
  if (!filter) return true;
  return fields.some((f) => f != null && f.toLowerCase().includes(filter));
}

/** A stored matcher as the API's string form: `host="gpu-a"`, `service=~"qwen.*"`. */
export function matcherText(m: { name: string; value: string; isRegex: boolean; isEqual: boolean }): string {
  const op = m.isRegex ? (m.isEqual ? '=~' : '!~') : m.isEqual ? '=' : '!=';
  return `${m.name}${op}${JSON.stringify(m.value)}`;
}
