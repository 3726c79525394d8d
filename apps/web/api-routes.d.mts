// Types of api-routes.mjs.
import type { IncomingMessage, ServerResponse } from "node:http";

export declare const DIRECT_ROUTE_CONFIG: {
  api: { bodyParser: false; externalResolver: true; responseLimit: false };
};

export interface ApiRoutes {
  /** The pages served directly, as Next names them ("/api/trpc/[trpc]", ...). */
  routes: string[];
  /** Why no route is served directly (every request goes through Next), or null. */
  reason: string | null;
  /** Serves the request and returns true when it is a directly served route's; false, untouched, otherwise. */
  dispatch(req: IncomingMessage, res: ServerResponse, url: URL): boolean;
}

export declare function loadApiRoutes(distDir: string, onError?: (err: unknown) => void): Promise<ApiRoutes>;
