import nx from "@nx/eslint-plugin";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["**/dist/**", "**/gen/**", "**/node_modules/**", "**/.cache/**", "reports/**"] },
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    plugins: { "@nx": nx },
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-console": "off",
      // Dependencies point one way (STYLE.md §1): metrics knows nothing of engines or transports,
      // the engine uses metrics' types only, and the CLI is the only place that wires them together.
      "@nx/enforce-module-boundaries": [
        "error",
        {
          allow: [],
          depConstraints: [
            { sourceTag: "scope:proto", onlyDependOnLibsWithTags: [] },
            { sourceTag: "scope:metrics", onlyDependOnLibsWithTags: [] },
            { sourceTag: "scope:engine", onlyDependOnLibsWithTags: ["scope:proto", "scope:metrics"] },
            { sourceTag: "scope:client", onlyDependOnLibsWithTags: ["scope:proto", "scope:metrics"] },
            { sourceTag: "scope:cli", onlyDependOnLibsWithTags: ["scope:engine", "scope:metrics", "scope:client"] },
            { sourceTag: "scope:e2e", onlyDependOnLibsWithTags: ["scope:proto", "scope:engine", "scope:metrics", "scope:client", "scope:cli"] },
            { sourceTag: "scope:bench", onlyDependOnLibsWithTags: ["scope:proto", "scope:engine", "scope:metrics", "scope:client", "scope:cli"] },
          ],
        },
      ],
    },
  },
);
