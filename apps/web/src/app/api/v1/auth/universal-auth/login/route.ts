// Universal Auth login for machine identities (wire-compatible with the upstream service).
import { universalAuthLogin } from "@roster/api";
import { publicRestRoute } from "@roster/api/http";
import { getConfig } from "@roster/config";
import { UniversalAuthLoginBody } from "@roster/contract";

export const dynamic = "force-dynamic";

export const { GET, DELETE, POST, PUT, PATCH, HEAD, OPTIONS } = publicRestRoute("/api/v1/auth/universal-auth/login", {
  POST: {
    form: true,
    body: UniversalAuthLoginBody,
    handler: ({ prisma, body, ip, userAgent }) =>
      universalAuthLogin(prisma, getConfig().authSecret, body, { ip, userAgent }),
  },
});
