/**
 * Light, dark, or the system's choice (prefers-color-scheme, the default). The toggle sets
 * `data-theme` on <html>, which the stylesheet prefers over the media query; the choice is
 * remembered in localStorage (it is a preference, not a secret).
 */
const KEY = 'llmh-theme';
const ORDER = ['auto', 'light', 'dark'] as const;
type Theme = (typeof ORDER)[number];

export function setupTheme(button: HTMLButtonElement): void {
  let theme = load();
  const apply = () => {
    if (theme === 'auto') document.documentElement.removeAttribute('data-theme');
    else document.documentElement.setAttribute('data-theme', theme);
    button.textContent = `Theme: ${theme === 'auto' ? 'system' : theme}`;
    button.setAttribute('aria-label', `Colour theme: ${theme === 'auto' ? 'as the system' : theme}. Change`);
  };
  button.addEventListener('click', () => {
    theme = ORDER[(ORDER.indexOf(theme) + 1) % ORDER.length]!;
    try {
      localStorage.setItem(KEY, theme);
    } catch {
      // not remembered: the next visit follows the system again
    }
    apply();
  });
  apply();
}

function load(): Theme {
  try {
    const v = localStorage.getItem(KEY);
    return (ORDER as readonly string[]).includes(v ?? '') ? (v as Theme) : 'auto';
  } catch {
    return 'auto';
  }
}
