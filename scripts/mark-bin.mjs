#!/usr/bin/env node
// After tsc: the command line's entry (package.json "bin") is made executable, as npm does for an
// installed package's bins — `npx p2psip` in this directory runs the file itself.
import { chmodSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

chmodSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'src', 'cli', 'main.js'), 0o755);
