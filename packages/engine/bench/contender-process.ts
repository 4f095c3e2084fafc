/**
 * Child-process entry of the benchmark: receives one {@link ContenderJob} over IPC, runs it, replies
 * with its {@link ContenderResult} (peak RSS of this process included) and exits.
 */
import type { ContenderJob, ContenderReply } from "./contender-protocol.js";
import { runChurnContender } from "./churn-contender.js";
import { runEngineContender } from "./engine-contender.js";
import { runSessionContender } from "./session-contenders.js";

function reply(message: ContenderReply): Promise<void> {
  return new Promise((resolve, reject) => process.send?.(message, undefined, {}, (error) => (error ? reject(error) : resolve())));
}

process.once("message", (job: ContenderJob) => {
  void (async () => {
    try {
      const baselineRssBytes = process.resourceUsage().maxRSS * 1024;
      const run = { engine: runEngineContender, "engine-full-logits": runEngineContender, "shape-churn": runChurnContender, "js-log-softmax": runSessionContender, floor: runSessionContender }[job.contender];
      const result = await run(job, baselineRssBytes);
      // maxRSS is in kilobytes (getrusage), for the whole process: the engine's session worker thread included.
      await reply({ type: "result", result: { ...result, maxRssBytes: process.resourceUsage().maxRSS * 1024 } });
    } catch (error) {
      await reply({ type: "error", message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    }
    process.disconnect();
  })();
});
