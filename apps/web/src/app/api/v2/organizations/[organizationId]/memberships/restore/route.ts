// Undo of a removal (POST): a thin adapter over organizations.restoreMemberships, through the
// shared REST helper.
import { restRoute } from "@roster/api/http";
import { RestoreMembershipsBody } from "@roster/contract";

export const dynamic = "force-dynamic";

type Params = { organizationId: string };

export const { GET, DELETE, POST, PUT, PATCH, HEAD, OPTIONS } = restRoute<Params>(
  "/api/v2/organizations/{organizationId}/memberships/restore",
  {
    POST: {
      body: RestoreMembershipsBody,
      idempotent: true,
      handler: ({ trpc, params, body }) =>
        trpc.organizations.restoreMemberships({ organizationId: params.organizationId, ...body }),
    },
  },
);
