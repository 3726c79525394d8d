import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "./root";

export {
  clientIp,
  createContextFromRequest,
  createInnerContext,
  type InnerContext,
  type WebSessionClaims,
} from "./context";
export { buildOpenApiDocument } from "./openapi";
export { renderApiReference } from "./openapi-html";
export { type AppRouter, appRouter, createCaller } from "./root";
export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;
export {
  renewIdentityAccessToken,
  revokeIdentityAccessToken,
  universalAuthLogin,
} from "./services/universal-auth";
