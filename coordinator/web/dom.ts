/** A few DOM helpers: the page builds every element through them, never through innerHTML. */

type Attrs = Record<string, string | number | boolean | undefined | null>;
type Child = Node | string | null | undefined | false;

/** `h('button', { type: 'button', class: 'x' }, 'text')`; `false`/`null` attributes are left out. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

/** Sets text only when it changed, so screen readers and MutationObservers see real changes only. */
export function setText(el: Element, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

export function setAttr(el: Element, name: string, value: string | null): void {
  if (value === null) {
    if (el.hasAttribute(name)) el.removeAttribute(name);
  } else if (el.getAttribute(name) !== value) el.setAttribute(name, value);
}

/** A `<time>` whose text the page keeps relative ("2 min ago"); the exact time is its title. */
export function timeEl(iso: string | null, cls = ''): HTMLTimeElement {
  const el = h('time', { class: cls || undefined });
  setTime(el, iso);
  return el;
}

export function setTime(el: HTMLElement, iso: string | null): void {
  setAttr(el, 'datetime', iso);
  setAttr(el, 'data-rel', iso ? '' : null);
  setAttr(el, 'title', iso);
  if (!iso) setText(el, 'never');
}

/** `id` safe for use in attributes: host and service names may hold any character. */
export function domId(...parts: string[]): string {
  return parts.map((p) => p.replace(/[^A-Za-z0-9_-]/g, (c) => `_${c.charCodeAt(0).toString(16)}`)).join('--');
}
