// What the web app mounts: the REST route builders, the tRPC and metrics handlers.
export { handleMetricsRequest } from "./metrics";
export { JsonArrayStream, publicRestRoute, ROUTE_CONFIG, restRoute } from "./rest";
export { handleTrpcRequest } from "./trpc-handler";
