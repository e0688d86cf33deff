#!/usr/bin/env node
// The installed `finaegis-postgres` command. It is committed outside dist/ so that the file the
// `bin` field names exists from the moment the package is installed, also in this workspace before
// anything is built; the command itself is built into dist/bin.js, loaded here when it runs.
import { existsSync } from 'node:fs';

const built = new URL('../dist/bin.js', import.meta.url);
if (!existsSync(built)) {
  console.error('[@finaegis/postgres] dist/bin.js is missing: build the package first (`pnpm build`)');
  process.exit(1);
}
await import(built.href);
