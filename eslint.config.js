// ESLint flat config: the recommended rules of ESLint and typescript-eslint, less the few this
// codebase deliberately does otherwise (listed with the reason). Formatting is Prettier's job.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const node = {
  process: 'readonly',
  console: 'readonly',
  Buffer: 'readonly',
  URL: 'readonly',
  performance: 'readonly',
  setTimeout: 'readonly',
  clearTimeout: 'readonly',
  setInterval: 'readonly',
  clearInterval: 'readonly',
  setImmediate: 'readonly',
  structuredClone: 'readonly',
  AbortController: 'readonly',
  TextDecoder: 'readonly',
  TextEncoder: 'readonly',
  fetch: 'readonly',
  navigator: 'readonly',
  globalThis: 'readonly',
};

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      'node_modules/**',
      'native/build/**',
      'models/**',
      'runs/**',
      'test/fixtures/**',
      '**/*.d.ts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: node },
    rules: {
      // Unused parameters keep a documented signature (an interface method, a node's connect).
      '@typescript-eslint/no-unused-vars': ['error', { args: 'none', caughtErrors: 'none', ignoreRestSiblings: true }],
      // `catch { /* best effort */ }` is how optional clean-up is written here.
      'no-empty': ['error', { allowEmptyCatch: true }],
    },
  },
  {
    // Functions a person can hold in their head, in the packages' sources (tests may be longer and
    // use `any` for fixtures): at most about 80 lines, at most 5 positional parameters (pass an
    // options object beyond that), and types instead of `any` (`unknown` and a check where data is untyped).
    files: ['*/src/**/*.ts'],
    rules: {
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }],
      'max-params': ['error', 5],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**', 'examples/**/*.ts', '*.js', '**/*.mjs'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
