// Universal Auth login for machine identities (wire-compatible with the upstream service).
import { universalAuthLogin } from "@roster/api";
import { publicRestRoute } from "@roster/api/http";
import { getConfig } from "@roster/config";
import { UniversalAuthLoginBody } from "@roster/contract";

// Next reads this as written: the helper reads and limits the body itself and always answers
// (ROUTE_CONFIG in @roster/api/http).
export const config = { api: { bodyParser: false, externalResolver: true, responseLimit: false } };

export default publicRestRoute("/api/v1/auth/universal-auth/login", {
  POST: {
    form: true,
    body: UniversalAuthLoginBody,
    handler: ({ prisma, body, ip, userAgent }) =>
      universalAuthLogin(prisma, getConfig().authSecret, body, { ip, userAgent }),
  },
});
