/** The layering rule against real file names of this checkout: allowed imports pass, others are named. */
import { resolve } from 'node:path';
import { Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
import layering from './layering.js';

const ROOT = resolve(__dirname, '../..');
const rooms = {
  contract: { rooms: [], packages: ['zod'] },
  renderer: { rooms: ['contract', 'common'], packages: ['vue'] },
  main: { rooms: ['contract', 'db'], packages: ['node:*', '@tensorflow/*'] },
};

function lint(file: string, code: string): string[] {
  const linter = new Linter({ configType: 'flat' });
  const messages = linter.verify(
    code,
    [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser as Linter.Parser }, plugins: { layering }, rules: { 'layering/allowed-imports': ['error', { rooms }] } }],
    resolve(ROOT, file),
  );
  return messages.map((m) => m.message);
}

describe('the layering rule', () => {
  it('lets a room import the rooms and packages on its list, and itself', () => {
    expect(lint('renderer/src/x.ts', "import { a } from '../../contract/api';\nimport { b } from '../../common/lttb';\nimport { c } from './y';\nimport { ref } from 'vue';")).toEqual([]);
    expect(lint('main/service/x.ts', "import fs from 'node:fs';\nimport * as tf from '@tensorflow/tfjs-core';\nimport { s } from '../../db/store';")).toEqual([]);
  });

  it('names the room and what it may import when an import crosses a seam it must not', () => {
    expect(lint('contract/x.ts', "import { Store } from '../db/store';")).toEqual(['contract/ may not import db/ (allowed: nothing of the project)']);
    expect(lint('renderer/src/x.ts', "export { x } from '../../main/service/workbench';")).toEqual(['renderer/ may not import main/ (allowed: contract, common)']);
    expect(lint('main/x.ts', "const m = await import('../experiments/run/inference');")).toEqual(['main/ may not import experiments/ (allowed: contract, db)']);
  });

  it('names a package a room may not use (node built-ins in browser-safe rooms)', () => {
    expect(lint('contract/x.ts', "import { createHash } from 'node:crypto';")).toEqual(["contract/ may not import the package 'node:crypto' (allowed: zod)"]);
    expect(lint('renderer/src/x.ts', "import Database from 'better-sqlite3/lib';")).toEqual(["renderer/ may not import the package 'better-sqlite3' (allowed: vue)"]);
  });

  it('leaves rooms without a list alone (tests, benchmarks, scripts)', () => {
    expect(lint('bench/x.ts', "import { s } from '../main/service/workbench';")).toEqual([]);
  });
});
