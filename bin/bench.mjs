#!/usr/bin/env node
// `npm run bench [name...]`: runs the benchmarks in bench/ (engine, data, ingest), each printing
// ratios against a reference measured in the same run.
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../bench/index.ts');
await main(process.argv.slice(2));
