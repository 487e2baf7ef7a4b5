// Lint: ESLint's and typescript-eslint's recommended rules on every TypeScript, ESM and CommonJS source
// (ESLint 10, flat config through ESLint's own defineConfig). Type errors are tsc's job.
import js from "@eslint/js";
import { defineConfig } from "eslint/config";
import tseslint from "typescript-eslint";

export default defineConfig(
    { ignores: ["node_modules/**", "dist/**"] },
    {
        files: ["**/*.ts", "**/*.mjs", "**/*.cjs"],
        extends: [js.configs.recommended, tseslint.configs.recommended],
        linterOptions: { reportUnusedDisableDirectives: "error" },
        rules: {
            "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
            "@typescript-eslint/no-explicit-any": "error",
        },
    },
    {
        // CommonJS preloads (node --require), which must run before tsx is registered.
        files: ["**/*.cjs"],
        languageOptions: { sourceType: "commonjs", globals: { require: "readonly", module: "writable" } },
        rules: { "@typescript-eslint/no-require-imports": "off" },
    },
    {
        // Shipped programs (the worker image's three rooms and the scaler Lambda) never reach into the
        // test doubles (testing/) or the operator tools (ops/): those are in no image.
        files: ["worker/src/**/*.ts", "worker/model-fetch/**/*.ts", "worker/model-client/**/*.ts", "scaler/src/**/*.ts"],
        rules: {
            "no-restricted-imports": [
                "error",
                {
                    patterns: [
                        {
                            group: ["**/testing", "**/testing/**", "**/ops", "**/ops/**"],
                            message: "shipped code must not import testing/ or ops/",
                        },
                    ],
                },
            ],
        },
    },
    {
        // The Pulumi program shares exactly one module with the shipped code: the model URI rule
        // (worker/model-fetch/model-uri.ts), so the stack refuses what model-fetch refuses. Anything else
        // under worker/ is the worker image's business; infra/ is in no image, so nothing is added to a
        // build context by this import. (infra/test may drive the shipped code, as every test does.)
        files: ["infra/**/*.ts"],
        ignores: ["infra/test/**"],
        rules: {
            "no-restricted-imports": [
                "error",
                {
                    patterns: [
                        {
                            regex: "(^|/)worker/(?!model-fetch/model-uri$)",
                            message: "infra/ may import only worker/model-fetch/model-uri from worker/ (the shared model URI rule)",
                        },
                    ],
                },
            ],
        },
    },
    {
        // The shared model URI rule imports nothing, so importing it brings nothing else of the worker along.
        files: ["worker/model-fetch/model-uri.ts"],
        rules: {
            "no-restricted-imports": [
                "error",
                {
                    patterns: [
                        { group: ["*", "**"], message: "worker/model-fetch/model-uri.ts is shared with infra/: it imports nothing" },
                    ],
                },
            ],
        },
    },
    {
        // The model-server client library stands alone: the worker and ops/ import it, never the reverse.
        files: ["worker/model-client/**/*.ts"],
        rules: {
            "no-restricted-imports": [
                "error",
                {
                    patterns: [
                        {
                            group: [
                                "**/testing",
                                "**/testing/**",
                                "**/ops",
                                "**/ops/**",
                                "**/src",
                                "**/src/**",
                                "**/model-fetch",
                                "**/model-fetch/**",
                            ],
                            message: "worker/model-client imports nothing from the worker, model-fetch, testing/ or ops/",
                        },
                    ],
                },
            ],
        },
    },
);
