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
      // Port payloads and JSON read from files are typed at their use; `any` stays where a value is untyped data.
      '@typescript-eslint/no-explicit-any': 'off',
      // Unused parameters keep a documented signature (an interface method, a node's connect).
      '@typescript-eslint/no-unused-vars': ['error', { args: 'none', caughtErrors: 'none', ignoreRestSiblings: true }],
      // `catch { /* best effort */ }` is how optional clean-up is written here.
      'no-empty': ['error', { allowEmptyCatch: true }],
    },
  },
);
