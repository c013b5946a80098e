#!/usr/bin/env node
// The `aspace` command: registers tsx (the sources are TypeScript, run as they are) and
// hands over to src/cli/main.ts.
import { register } from "tsx/esm/api";

register();
await import("../src/cli/main.ts");
