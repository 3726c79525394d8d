// Undo of a removal (POST): a thin adapter over organizations.restoreMemberships, through the
// shared REST helper.
import { restRoute } from "@roster/api/http";
import { RestoreMembershipsBody } from "@roster/contract";

// Next reads this as written: the helper reads and limits the body itself and always answers
// (ROUTE_CONFIG in @roster/api/http).
export const config = { api: { bodyParser: false, externalResolver: true, responseLimit: false } };

type Params = { organizationId: string };

export default restRoute<Params>("/api/v2/organizations/{organizationId}/memberships/restore", {
  POST: {
    body: RestoreMembershipsBody,
    idempotent: true,
    handler: ({ trpc, params, body }) =>
      trpc.organizations.restoreMemberships({ organizationId: params.organizationId, ...body }),
  },
});
