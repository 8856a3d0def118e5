// Layering (STYLE.md): experiments/ and db/ never import electron; experiments/ knows nothing of
// SQLite; db/ knows nothing of tfjs; renderer/ sees only preload/api.ts types.
import tseslint from 'typescript-eslint';
import pluginVue from 'eslint-plugin-vue';

const noElectron = { name: 'electron', message: 'only main/electron.ts, main/ipc.ts and preload/ may import electron' };
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
    files: ['experiments/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [noElectron, { name: 'better-sqlite3', message: 'experiments/ knows nothing of SQLite' }], patterns: ['**/db/*', '**/main/*', '**/renderer/*'] }],
    },
  },
  {
    files: ['db/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [noElectron], patterns: ['@tensorflow/*', '**/experiments/model/*', '**/experiments/train/*', '**/main/*', '**/renderer/*'] }],
    },
  },
  {
    files: ['renderer/**/*.ts', 'renderer/**/*.vue'],
    rules: {
      'no-restricted-imports': ['error', { paths: [noElectron], patterns: ['**/main/*', '**/db/*', '**/experiments/*', 'node:*', 'better-sqlite3', '@tensorflow/*'] }],
    },
  },
);
