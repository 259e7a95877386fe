import { defineConfig } from 'vitest/config';

// Two projects: fast unit tests next to the code in each package, and privileged system tests under
// test/ that create namespaces, TUN devices and etcd processes. System tests run one file at a time:
// the machine has two cores and each file builds its own little network.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'system',
          include: ['test/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
