/**
 * `npm run bench [name…]`: runs bench/<name>.bench.ts files (all when no name is given). Each
 * benchmark measures its own reference in the same run and prints ratios against it; none of them
 * is a test, and nothing here asserts wall-clock time.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface Benchmark {
  /** Runs the benchmark, printing its table; `args` are the remaining command-line words. */
  run(args: string[]): Promise<void>;
}

export async function main(args: string[]): Promise<void> {
  const dir = dirname(fileURLToPath(import.meta.url));
  const all = readdirSync(dir)
    .filter((f) => f.endsWith('.bench.ts'))
    .map((f) => f.replace(/\.bench\.ts$/, ''))
    .sort();
  const wanted = args.filter((a) => !a.startsWith('-'));
  const names = wanted.length ? wanted : all;
  for (const name of names) {
    if (!all.includes(name)) throw new Error(`unknown benchmark "${name}"; available: ${all.join(', ')}`);
    console.log(`\n=== bench: ${name} ===`);
    const mod = (await import(pathToFileURL(join(dir, `${name}.bench.ts`)).href)) as Benchmark;
    await mod.run(args.filter((a) => a.startsWith('-')));
  }
}
