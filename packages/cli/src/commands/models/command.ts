import type { CommandModule } from "yargs";
import { fixtureCommand } from "./fixture/command.js";
import { pullCommand } from "./pull/command.js";

export const modelsCommand: CommandModule = {
  command: "models <command>",
  describe: "Build the project's test models or download models",
  builder: (y) => y.command(fixtureCommand).command(pullCommand).demandCommand(1, "Choose a models command."),
  handler: () => undefined,
};
