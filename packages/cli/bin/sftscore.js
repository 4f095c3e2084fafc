#!/usr/bin/env node
// The installed entry point. Plain JavaScript that exists before the build, so `npm ci` can link
// it; the command itself lives in the compiled dist/.
import { main } from "../dist/main.js";

process.exitCode = await main(process.argv.slice(2));
