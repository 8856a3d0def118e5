// `npm start` after `electron-vite build`: opens the desktop app where Electron's binary is
// installed; where it is not (servers, CI, offline installs), says how to get the same UI in a browser.
import { existsSync, readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const root = join(dirname(new URL(import.meta.url).pathname), '..');

function electronBinary() {
  try {
    const pkgDir = dirname(require.resolve('electron/package.json'));
    const pathFile = join(pkgDir, 'path.txt');
    if (!existsSync(pathFile)) return null;
    const bin = join(pkgDir, 'dist', readFileSync(pathFile, 'utf8').trim());
    return existsSync(bin) ? bin : null;
  } catch {
    return null;
  }
}

const bin = electronBinary();
if (!bin) {
  console.log('Electron\'s binary is not installed here, so the desktop window cannot open.');
  console.log('Same UI in a browser:   npx ablate serve --db ablate.sqlite   (then open the printed URL)');
  console.log('On a remote machine:    ABLATE_TOKEN=<secret> npx ablate serve --db ablate.sqlite --host 0.0.0.0   (or an SSH tunnel to 127.0.0.1)');
  console.log('To install Electron:    node node_modules/electron/install.js   (needs access to Electron\'s download host)');
  process.exit(1);
}
const child = spawn(bin, [root], { stdio: 'inherit' });
child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 0)));
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
