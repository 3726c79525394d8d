export { handleTrpcRequest } from "./trpc-handler";
export { logRequest } from "./log";
export { readJsonBody, restRoute, MAX_BODY_BYTES, type RestContext } from "./rest";
