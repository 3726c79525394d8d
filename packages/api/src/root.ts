import { identitiesRouter } from "./router/identities";
import { organizationsRouter } from "./router/organizations";
import { viewerRouter } from "./router/viewer";
import { createCallerFactory, createTRPCRouter } from "./trpc";

export const appRouter = createTRPCRouter({
  identities: identitiesRouter,
  organizations: organizationsRouter,
  viewer: viewerRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
