#!/usr/bin/env node
// The `edgelight` command. The sources are TypeScript; tsx's loader runs them unchanged in Node.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../server/cli.ts');
const code = await main(process.argv.slice(2));
process.exitCode = code;
