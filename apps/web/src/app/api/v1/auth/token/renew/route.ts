// Renews a machine identity's access token within its max TTL.
import { renewIdentityAccessToken } from "@roster/api";
import { publicRestRoute } from "@roster/api/http";
import { getConfig } from "@roster/config";
import { IdentityTokenBody } from "@roster/contract";

export const dynamic = "force-dynamic";

export const { GET, DELETE, POST, PUT, PATCH, HEAD, OPTIONS } = publicRestRoute("/api/v1/auth/token/renew", {
  POST: {
    form: true,
    body: IdentityTokenBody,
    handler: ({ prisma, body }) => renewIdentityAccessToken(prisma, getConfig().authSecret, body.accessToken),
  },
});
