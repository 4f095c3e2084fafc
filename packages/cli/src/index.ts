export { main } from "./main.js";
export { ExitCode, UsageError } from "./exit-codes.js";
