import { handleTrpcRequest } from "@roster/api/http";
import { cookieReader, webSessionFromCookie } from "@/server/web-session";

export const dynamic = "force-dynamic";

const handler = (req: Request) =>
  handleTrpcRequest(req, { webSession: () => webSessionFromCookie(cookieReader(req.headers.get("cookie"))) });

export { handler as GET, handler as POST };
