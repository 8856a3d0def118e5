#!/usr/bin/env node
// `npx ablate` in a fresh checkout: run the TypeScript CLI through tsx, so no build step is needed.
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../main/cli/index.ts');
await main(process.argv);
