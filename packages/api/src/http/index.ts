export { logRequest } from "./log";
export { handleMetricsRequest } from "./metrics";
export {
  JsonArrayStream,
  MAX_BODY_BYTES,
  type PublicRestContext,
  publicRestRoute,
  type RestContext,
  readJsonBody,
  restRoute,
} from "./rest";
export { handleTrpcRequest } from "./trpc-handler";
