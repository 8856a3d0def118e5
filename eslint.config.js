// Layering by allow-list (VS Code's rule is the model): each top-level room names the rooms and the
// packages it may import; scripts/lint/layering.js enforces it.
//   contract → nothing (zod, a hash);  common → nothing
//   experiments, db → contract, common;  main → contract, common, experiments, db
//   preload, renderer → contract (renderer also common);  bench, test → anything
import tseslint from 'typescript-eslint';
import pluginVue from 'eslint-plugin-vue';
import layering from './scripts/lint/layering.js';

const TEST_TOOLS = ['vitest', 'node:*'];
const rooms = {
  contract: { rooms: [], packages: ['zod', '@noble/hashes'] },
  common: { rooms: [], packages: [] },
  experiments: { rooms: ['contract', 'common'], packages: ['node:*', '@tensorflow/*', 'webgpu', 'yaml', ...TEST_TOOLS] },
  db: { rooms: ['contract', 'common'], packages: ['node:*', 'better-sqlite3', 'csv-stringify', ...TEST_TOOLS] },
  main: { rooms: ['contract', 'common', 'experiments', 'db'], packages: ['node:*', 'electron', 'commander', 'cli-progress', 'ws', 'yaml', 'zod', 'tsx', 'vite', '@vitejs/plugin-vue', ...TEST_TOOLS] },
  preload: { rooms: ['contract'], packages: ['electron'] },
  renderer: { rooms: ['contract', 'common'], packages: ['vue', 'echarts', 'vue-echarts', 'vitest', '@vue/test-utils'] },
};
// Tests may reach the shared test support folder from any room; the Electron edge's test drives preload too.
const testRooms = Object.fromEntries(Object.entries(rooms).map(([k, v]) => [k, { rooms: [...v.rooms, 'test', ...(k === 'main' ? ['preload'] : [])], packages: [...v.packages, ...TEST_TOOLS, '@vue/test-utils', 'ws', 'playwright-core'] }]));

export default tseslint.config(
  { ignores: ['node_modules/**', 'out/**', 'dist/**', 'test-artifacts/**', '.portable-bench/**'] },
  ...tseslint.configs.recommended,
  // Vue single-file components: the template through vue-eslint-parser, <script lang="ts"> through typescript-eslint.
  ...pluginVue.configs['flat/essential'],
  { files: ['**/*.vue'], languageOptions: { parserOptions: { parser: tseslint.parser } } },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
    },
  },
  {
    files: ['{contract,common,experiments,db,main,preload,renderer}/**/*.{ts,vue}'],
    ignores: ['**/*.test.ts'],
    plugins: { layering },
    rules: { 'layering/allowed-imports': ['error', { rooms }] },
  },
  {
    files: ['{contract,common,experiments,db,main,preload,renderer}/**/*.test.ts'],
    plugins: { layering },
    rules: { 'layering/allowed-imports': ['error', { rooms: testRooms }] },
  },
);
