import { h } from './dom.js';
import type { LinkState } from './live.js';

/**
 * The connection indicator: live, or "disconnected — reconnecting in N s" with the reason, or a
 * link to log in again. Its own aria-live region, so a screen reader hears the link drop.
 */
export class LinkStatus {
  private state: LinkState = { kind: 'connecting' };
  private shown = '';

  constructor(private readonly el: HTMLElement) {}

  set(state: LinkState): void {
    this.state = state;
    this.render();
  }

  /** Called every second: the countdown moves. */
  tick(): void {
    this.render();
  }

  private render(): void {
    const s = this.state;
    const now = Date.now();
    let text: string;
    let kind: string = s.kind;
    switch (s.kind) {
      case 'connecting':
        text = 'connecting…';
        break;
      case 'live':
        text = s.source === 'feed' ? '● live' : '● live (polling)';
        break;
      case 'retrying':
        text = `disconnected — ${s.source === 'feed' ? 'reconnecting' : 'retrying'} in ${Math.max(0, Math.ceil((s.retryAt - now) / 1000))} s (${s.error})`;
        break;
      case 'login':
        text = 'session expired — ';
        kind = 'retrying';
        break;
    }
    const key = `${kind}|${text}`;
    if (key === this.shown) return;
    this.shown = key;
    this.el.className = `link link-${kind}`;
    this.el.dataset.link = s.kind;
    // which way the data comes, for tests and the curious: "feed" or "polling"
    if (s.kind === 'live' || s.kind === 'retrying') this.el.dataset.source = s.source;
    this.el.replaceChildren(text, s.kind === 'login' ? h('a', { href: '/login' }, 'log in again') : '');
  }
}
