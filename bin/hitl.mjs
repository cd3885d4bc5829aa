#!/usr/bin/env node
// Entry point of the `hitl` command: registers tsx so the TypeScript CLI runs without a build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/node/cli/main.ts');
