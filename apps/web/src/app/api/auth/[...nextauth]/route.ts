import NextAuth from "next-auth";
import { getAuthOptions, withSignInThrottle } from "@/server/auth-options";

export const dynamic = "force-dynamic";

type Handler = (req: Request, ctx: { params: Promise<{ nextauth: string[] }> }) => Promise<Response>;
let handler: Handler | undefined;

function nextAuth(req: Request, ctx: { params: Promise<{ nextauth: string[] }> }): Promise<Response> {
  handler ??= NextAuth(getAuthOptions()) as Handler;
  const run = handler;
  return withSignInThrottle(req, () => run(req, ctx));
}

export { nextAuth as GET, nextAuth as POST };
