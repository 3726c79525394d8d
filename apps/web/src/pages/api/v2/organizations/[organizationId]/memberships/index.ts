// bulkDeleteOrgMemberships (DELETE) and its companion read (GET): thin adapters over the
// organizations procedures, through the shared REST helper.
import { JsonArrayStream, restRoute } from "@roster/api/http";
import { getConfig } from "@roster/config";
import { bulkDeleteMembershipsBody } from "@roster/contract";

// Next reads this as written: the helper reads and limits the body itself, always answers, and a
// streamed listing may be as large as the organization (ROUTE_CONFIG in @roster/api/http).
export const config = { api: { bodyParser: false, externalResolver: true, responseLimit: false } };

type Params = { organizationId: string };
const body = bulkDeleteMembershipsBody(() => getConfig().maxBulkDelete);

export default restRoute<Params>("/api/v2/organizations/{organizationId}/memberships", {
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
});
