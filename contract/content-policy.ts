/**
 * The page's contract with whatever hosts it: the same Content-Security-Policy for the Electron
 * window (main/electron) and for `ablate serve` (main/server), so the renderer behaves the same
 * under both.
 */

/**
 * The renderer's Content-Security-Policy. Scripts only from the app itself (no inline script, no
 * eval: Vue templates are compiled at build time), styles inline allowed (Vue style bindings and
 * ECharts' tooltip use style attributes), images from data:/blob: (chart exports), connections only
 * back to the origin (the WebSocket API in the browser; IPC needs none in Electron).
 * `frameAncestors` only in HTTP headers: browsers ignore it in a <meta> tag.
 */
export function contentSecurityPolicy(opts: { frameAncestors?: boolean } = {}): string {
  const directives = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    "connect-src 'self'",
    "worker-src 'none'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ];
  if (opts.frameAncestors) directives.push("frame-ancestors 'none'");
  return directives.join('; ');
}
