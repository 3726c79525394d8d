// bulkDeleteOrgMemberships (DELETE) and its companion read (GET): thin adapters over the
// organizations procedures, through the shared REST helper.
import { JsonArrayStream, restRoute } from "@roster/api/http";
import { getConfig } from "@roster/config";
import { bulkDeleteMembershipsBody } from "@roster/contract";

export const dynamic = "force-dynamic";

type Params = { organizationId: string };
const body = bulkDeleteMembershipsBody(() => getConfig().maxBulkDelete);

export const { GET, DELETE, POST, PUT, PATCH, HEAD, OPTIONS } = restRoute<Params>(
  "/api/v2/organizations/{organizationId}/memberships",
  {
    DELETE: {
      body,
      idempotent: true,
      handler: ({ trpc, params, body }) =>
        trpc.organizations.bulkDeleteMemberships({ organizationId: params.organizationId, ...body }),
    },
    GET: {
      // `{ "users": [...] }`, written as the organization is read (checks 1 to 9 first).
      handler: async ({ trpc, params }) =>
        new JsonArrayStream(
          '{"users":',
          await trpc.organizations.streamMemberships({ organizationId: params.organizationId }),
          "}",
        ),
    },
  },
);
