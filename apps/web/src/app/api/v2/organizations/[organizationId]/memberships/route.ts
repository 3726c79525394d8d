// bulkDeleteOrgMemberships (DELETE) and its companion read (GET): thin adapters over the
// organizations procedures, through the shared REST helper.
import { restRoute } from "@roster/api/http";
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
      handler: ({ trpc, params, body }) =>
        trpc.organizations.bulkDeleteMemberships({ organizationId: params.organizationId, ...body }),
    },
    GET: {
      handler: async ({ trpc, params }) => {
        const users = [];
        for (let cursor: string | null = null; ; ) {
          const page = await trpc.organizations.listMemberships({
            organizationId: params.organizationId,
            limit: 500,
            sortBy: "createdAt",
            cursor,
          });
          users.push(...page.items.map(({ projectCount: _, ...m }) => m));
          cursor = page.nextCursor;
          if (!cursor) return { users };
        }
      },
    },
  },
);
