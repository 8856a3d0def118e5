import { defineConfig } from 'vitest/config';
import vue from '@vitejs/plugin-vue';

// One runner for all Node code; component tests opt into happy-dom with a
// `// @vitest-environment happy-dom` docblock.
export default defineConfig({
  plugins: [vue()],
  test: {
    include: ['{contract,common,experiments,db,main,preload,renderer,test,bench,scripts}/**/*.test.ts'],
    environment: 'node',
    // Stops the local Slurm cluster after the suite when .ci/run started it (issue 11).
    globalSetup: ['test/support/slurm-global.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Training tests are CPU-heavy; on 2 cores more workers only thrash.
    pool: 'forks',
    maxWorkers: 2,
  },
});
