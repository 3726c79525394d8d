// Renews a machine identity's access token within its max TTL.
import { renewIdentityAccessToken } from "@roster/api";
import { publicRestRoute } from "@roster/api/http";
import { getConfig } from "@roster/config";
import { IdentityTokenBody } from "@roster/contract";

// Next reads this as written: the helper reads and limits the body itself and always answers
// (ROUTE_CONFIG in @roster/api/http).
export const config = { api: { bodyParser: false, externalResolver: true, responseLimit: false } };

export default publicRestRoute("/api/v1/auth/token/renew", {
  POST: {
    form: true,
    body: IdentityTokenBody,
    handler: ({ prisma, body }) => renewIdentityAccessToken(prisma, getConfig().authSecret, body.accessToken),
  },
});
