// Electron's own postinstall downloads its binary from the internet. That is not allowed to fail
// `npm install` (offline machines, CI), so it is not approved in allowScripts; this script runs it
// and turns a failure into a warning. Where it fails, `ablate serve` gives the same UI in a browser.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let installScript;
try {
  installScript = require.resolve('electron/install.js');
} catch {
  process.exit(0); // electron not installed (production install): nothing to do
}
if (process.env.ELECTRON_SKIP_BINARY_DOWNLOAD || process.env.CI) {
  console.warn('[ablate] skipping the Electron binary download (CI or ELECTRON_SKIP_BINARY_DOWNLOAD set).');
  process.exit(0);
}
const pathFile = installScript.replace(/install\.js$/, 'path.txt');
if (existsSync(pathFile)) process.exit(0);
const result = spawnSync(process.execPath, [installScript], { stdio: 'inherit', timeout: 120_000 });
if (result.status !== 0) {
  console.warn('[ablate] Electron binary could not be downloaded; the desktop app will not start here.');
  console.warn('[ablate] Use `npx ablate serve` for the same UI in a browser, or retry with `node node_modules/electron/install.js`.');
}
process.exit(0);
