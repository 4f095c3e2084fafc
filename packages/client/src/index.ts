/**
 * `@sftscore/client`: the SDK for scoring against sftscore engines over gRPC.
 */
export { formatEngineAddress, parseEngineAddress, parseEngineAddresses } from "./engine-address.js";
export type { EngineAddress } from "./engine-address.js";
