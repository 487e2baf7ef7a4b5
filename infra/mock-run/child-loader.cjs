// Preload of the mock-run child (mock-run.ts spawns `node --require <this> mock-program.ts`): tsx compiles
// the program's TypeScript, while the dependencies' JavaScript loads through Node's own loader. tsx's
// loader would scan every .js file of @pulumi/* for ESM syntax (about a third of a child's start-up);
// Node 24 loads CommonJS and require()s ES modules itself, and this repository has no .js sources.
"use strict";
const Module = require("node:module");
const nodeJs = Module._extensions[".js"];
require("tsx/cjs");
Module._extensions[".js"] = nodeJs;
