export { handleTrpcRequest } from "./trpc-handler";
export { logRequest } from "./log";
