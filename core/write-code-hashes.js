#!/usr/bin/env node
// Run by `npm run build` after tsc: writes dist/code-hash.json (a hash of the runtime files) into
// e3's packages, which node cache keys include instead of the version string (core/src/cache/code-hash.ts).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUILT_IN_PACKAGES, writeCodeHash } from './dist/cache/code-hash.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
for (const pkg of BUILT_IN_PACKAGES) writeCodeHash(join(root, pkg));
