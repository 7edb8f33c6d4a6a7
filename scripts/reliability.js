#!/usr/bin/env node
// `./dev reliability`: the reliability suite under reliability/ (racing replicas, crashes,
// upstream faults, adversarial inputs). Loopback only; needs PostgreSQL on 127.0.0.1:5432.
const path = require('node:path');

process.chdir(path.resolve(__dirname, '..'));
require('@backstage/cli/config/nodeTransform.cjs');
require('../reliability/run.ts');
