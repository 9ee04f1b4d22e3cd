import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.switchboard/', '.tmp/', 'dashboard/dist/'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-empty-function': 'off',
      // Config is parsed once in src/core/config.ts; nothing else reads the environment.
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read config from src/core/config.ts' }],
    },
  },
  { files: ['src/core/config.ts', 'scripts/**', 'test/**', 'bench/**', '**/*.test.ts', 'src/cli/**'], rules: { 'no-restricted-properties': 'off' } },
);
