/**
 * Which files a spec queued through `ablate serve` may read: corpus paths must resolve (symlinks
 * followed) inside one of the allowed data roots — the database's folder and the folders the
 * person who started the server named with `--data-root`. A client of the port is not the user of
 * the machine: without this, a spec naming /etc/passwd as its corpus and then its sample
 * translations would read any file the server can. The CLI's own `ablate run SPEC` is not checked.
 */
import { realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { UserError } from '../../contract/errors';
import type { CorpusConfig } from '../../contract/spec';

/** `path` with symlinks resolved as far as it exists (a file not there yet keeps its missing tail). */
export function realPathSoFar(path: string): string {
  const tail: string[] = [];
  let cur = resolve(path);
  for (;;) {
    try {
      return join(realpathSync(cur), ...tail.reverse());
    } catch {
      const parent = dirname(cur);
      if (parent === cur) return resolve(path);
      tail.push(basename(cur));
      cur = parent;
    }
  }
}

/** Whether `path` (already real) lies inside `root` (already real) or is it. */
export function isInside(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** Every file a corpus names, with the field it came from (`data.corpus.train[0]`). */
function corpusFiles(corpus: CorpusConfig): { field: string; path: string }[] {
  const out: { field: string; path: string }[] = [];
  for (const split of ['train', 'valid', 'test'] as const) {
    const files = corpus[split];
    if (files === undefined) continue;
    if (typeof files === 'string') out.push({ field: `data.corpus.${split}`, path: files });
    else files.forEach((f, i) => out.push({ field: `data.corpus.${split}[${i}]`, path: f }));
  }
  return out;
}

export class DataRoots {
  private readonly roots: readonly string[];

  /** `roots` as given (relative ones against the working directory); made real once here. */
  constructor(roots: readonly string[]) {
    this.roots = [...new Set(roots.map((r) => realPathSoFar(r)))];
  }

  get list(): readonly string[] {
    return this.roots;
  }

  /**
   * Throws a one-line UserError naming the first corpus file outside every root. Relative paths
   * resolve against `baseDir`, as the Workbench resolves spec text that has no file of its own.
   */
  check(corpus: CorpusConfig | undefined, baseDir: string = process.cwd()): void {
    if (!corpus) return;
    for (const { field, path } of corpusFiles(corpus)) {
      const real = realPathSoFar(isAbsolute(path) ? path : resolve(baseDir, path));
      if (!this.roots.some((root) => isInside(root, real))) {
        const allowed = this.roots.length ? this.roots.join(', ') : 'none';
        throw new UserError(`${field}: ${real} is outside the server's data roots (${allowed}); the person running \`ablate serve\` can allow a folder with --data-root DIR`);
      }
    }
  }
}
