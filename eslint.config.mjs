// Lint: typescript-eslint's recommended rules on every TypeScript source. Type errors are tsc's job.
import tseslint from "typescript-eslint";

export default tseslint.config(
    { ignores: ["node_modules/**", "dist/**"] },
    ...tseslint.configs.recommended,
    {
        rules: {
            "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
            "@typescript-eslint/no-explicit-any": "error",
        },
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
