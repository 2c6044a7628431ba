#!/usr/bin/env node
'use strict';
// Launcher: the CLI is compiled TypeScript in dist/ (built by `npm ci` / `npm run build`).
const { join } = require('node:path');
const { existsSync } = require('node:fs');

const entry = join(__dirname, '..', 'dist', 'src', 'cli', 'main.js');
if (!existsSync(entry)) {
  process.stderr.write(`rxvolume: ${entry} is missing: run npm run build\n`);
  process.exit(1);
}
// The AWS SDK warns on every run that Node 20 support ends in 2027 (README: use Node >= 22 then).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
require(entry).runCli();
