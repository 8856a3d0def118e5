/** The app:// protocol handler, the dev-server URL rule and the fuses, run against fakes (no Electron binary). */
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { APP_URL, appProtocolHandler, rendererUrl } from './hardening';
import { applyFuses, FUSE_SETTINGS, type FusesModule } from './fuses';
import { contentSecurityPolicy } from '../../contract/content-policy';

const dir = mkdtempSync(join(tmpdir(), 'ablate-app-protocol-'));
mkdirSync(join(dir, 'renderer', 'assets'), { recursive: true });
writeFileSync(join(dir, 'renderer', 'index.html'), '<!doctype html><title>app</title>');
writeFileSync(join(dir, 'renderer', 'assets', 'main.js'), 'console.log(1)');
writeFileSync(join(dir, 'secret.txt'), 'secret');
symlinkSync(join(dir, 'secret.txt'), join(dir, 'renderer', 'assets', 'link.js'));

describe('the app:// protocol', () => {
  const handle = appProtocolHandler(join(dir, 'renderer'));

  it('serves the built renderer with its CSP and content type', async () => {
    const page = await handle({ url: 'app://workbench/index.html' });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>app</title>');
    expect(page.headers.get('content-security-policy')).toBe(contentSecurityPolicy());
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect((await handle({ url: 'app://workbench/' })).status).toBe(200);
    const js = await handle({ url: 'app://workbench/assets/main.js' });
    expect(js.headers.get('content-type')).toContain('javascript');
  });

  it('serves nothing outside the renderer folder: ../, encoded ../, symlinks out, other hosts, missing files', async () => {
    for (const url of ['app://workbench/../secret.txt', 'app://workbench/%2e%2e/secret.txt', 'app://workbench/assets/..%2f..%2fsecret.txt', 'app://workbench/assets/link.js', 'app://other/index.html', 'app://workbench/nope.js', 'app://workbench/%E0%A4%A', 'app://workbench/assets'])
      expect((await handle({ url })).status, url).toBe(404);
    expect((await handle({ url: 'app://workbench/index.html', method: 'POST' })).status).toBe(405);
  });
});

describe('the renderer URL', () => {
  it('is app://workbench/index.html in a packaged app, whatever ELECTRON_RENDERER_URL says', () => {
    expect(APP_URL).toBe('app://workbench/index.html');
    expect(rendererUrl({ ELECTRON_RENDERER_URL: 'http://localhost:5173/' }, true)).toBe(APP_URL);
    expect(rendererUrl({}, false)).toBe(APP_URL);
  });

  it('is the dev server in an unpackaged run, only on a loopback host', () => {
    expect(rendererUrl({ ELECTRON_RENDERER_URL: 'http://localhost:5173/' }, false)).toBe('http://localhost:5173/');
    expect(rendererUrl({ ELECTRON_RENDERER_URL: 'http://127.0.0.1:5173/' }, false)).toBe('http://127.0.0.1:5173/');
    for (const bad of ['https://evil.example/', 'file:///etc/passwd', 'javascript:alert(1)', 'not a url']) expect(rendererUrl({ ELECTRON_RENDERER_URL: bad }, false), bad).toBe(APP_URL);
  });
});

describe('the fuses', () => {
  /** A recording @electron/fuses: option names map to their own names, so the flipped config reads plainly. */
  function fakeFuses() {
    const calls: [string, Record<string | number, unknown>][] = [];
    const options = Object.fromEntries(Object.keys(FUSE_SETTINGS).map((k) => [k, k])) as FusesModule['FuseV1Options'];
    const mod: FusesModule = { FuseVersion: { V1: '1' }, FuseV1Options: options, flipFuses: async (path, config) => void calls.push([path, config]) };
    return { mod, calls };
  }
  const context = (platform: string) => ({ appOutDir: '/out/pack', electronPlatformName: platform, packager: { appInfo: { productFilename: 'Ablation Workbench' }, executableName: 'ablation-workbench' } });

  it('turns runAsNode off, cookie encryption on and only-load-from-asar on, on the packaged binary of each platform', async () => {
    const { mod, calls } = fakeFuses();
    await applyFuses(context('linux'), mod);
    await applyFuses(context('win32'), mod);
    await applyFuses(context('darwin'), mod);
    expect(calls.map(([path]) => path)).toEqual(['/out/pack/ablation-workbench', '/out/pack/Ablation Workbench.exe', '/out/pack/Ablation Workbench.app/Contents/MacOS/Ablation Workbench']);
    for (const [, config] of calls) {
      expect(config).toMatchObject({ version: '1', RunAsNode: false, EnableCookieEncryption: true, OnlyLoadAppFromAsar: true, EnableNodeOptionsEnvironmentVariable: false, EnableNodeCliInspectArguments: false, EnableEmbeddedAsarIntegrityValidation: true });
    }
    expect(calls[2][1].resetAdHocDarwinSignature).toBe(true);
  });
});
