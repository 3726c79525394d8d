// tRPC at /api/trpc: bearer callers, and the admin UI by its sign-in cookie.
import { handleTrpcRequest } from "@roster/api/http";
import type { NextApiRequest, NextApiResponse } from "next";
import { cookieReader, webSessionFromCookie } from "@/server/web-session";

// Next reads this as written: the handler reads and limits the body itself and always answers
// (ROUTE_CONFIG in @roster/api/http).
export const config = { api: { bodyParser: false, externalResolver: true, responseLimit: false } };

export default function trpc(req: NextApiRequest, res: NextApiResponse): Promise<void> {
  return handleTrpcRequest(req, res, { webSession: (cookie) => webSessionFromCookie(cookieReader(cookie)) });
}
