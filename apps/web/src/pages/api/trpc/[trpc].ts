// tRPC at /api/trpc: bearer callers, and the admin UI by its sign-in cookie.
import { handleTrpcRequest } from "@roster/api/http";
import type { NextApiRequest, NextApiResponse } from "next";
import { cookieReader, webSessionFromCookie } from "@/server/web-session";

// Next reads this as written: the handler reads and limits the body itself and always answers
// (ROUTE_CONFIG in @roster/api/http).
export const config = { api: { bodyParser: false, externalResolver: true, responseLimit: false } };

// API_ROUTING=next serves every request the frameworks' own way: through Next's router, and every
// tRPC call through tRPC's fetch adapter (api-routes-parity.test.ts compares the two).
const loneMutations = process.env.API_ROUTING !== "next";

export default function trpc(req: NextApiRequest, res: NextApiResponse): Promise<void> {
  return handleTrpcRequest(req, res, {
    webSession: (cookie) => webSessionFromCookie(cookieReader(cookie)),
    loneMutations,
  });
}
