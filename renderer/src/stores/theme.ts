/** Light/dark: follows the system (prefers-color-scheme) until the user picks one; the pick is remembered. */
import { ref, watchEffect } from 'vue';

export type Theme = 'light' | 'dark';
const KEY = 'ablate.theme';

export function createTheme(win: Window = window) {
  const media = win.matchMedia?.('(prefers-color-scheme: dark)');
  const saved = win.localStorage?.getItem(KEY);
  const theme = ref<Theme>(saved === 'dark' || saved === 'light' ? saved : media?.matches ? 'dark' : 'light');
  media?.addEventListener?.('change', (e) => {
    if (!win.localStorage?.getItem(KEY)) theme.value = e.matches ? 'dark' : 'light';
  });
  watchEffect(() => win.document.documentElement.setAttribute('data-theme', theme.value));
  return {
    theme,
    toggle() {
      theme.value = theme.value === 'dark' ? 'light' : 'dark';
      win.localStorage?.setItem(KEY, theme.value);
    },
  };
}
export type ThemeStore = ReturnType<typeof createTheme>;
