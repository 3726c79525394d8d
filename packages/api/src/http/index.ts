// What the web app mounts: the REST route builders, the tRPC and metrics handlers.
export { handleMetricsRequest } from "./metrics";
export { DISCARD_LIMIT, JsonArrayStream, publicRestRoute, ROUTE_CONFIG, restRoute } from "./rest";
export { handleTrpcRequest } from "./trpc-handler";
