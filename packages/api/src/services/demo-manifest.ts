import { DemoManifest } from "@roster/contract";
import type { Db } from "@roster/db";
import type { SeededOrganization } from "@roster/db/seed";
import { issueAccessTokens } from "../auth/sessions";

/** The seed's manifest: every member that has an account gets a fresh token for its organization. */
export async function buildManifest(prisma: Db, secret: string, orgs: SeededOrganization[]): Promise<DemoManifest> {
  const holders = orgs.flatMap((o) =>
    o.members.filter((m) => m.userId !== null).map((m) => ({ userId: m.userId as string, organizationId: o.id })),
  );
  const issued = await issueAccessTokens(prisma, secret, holders);
  const tokenOf = new Map(holders.map((h, i) => [`${h.organizationId}/${h.userId}`, issued[i]?.token ?? null]));
  return DemoManifest.parse({
    organizations: orgs.map((o) => ({
      ...o,
      members: o.members.map((m) => ({
        ...m,
        accessToken: m.userId ? (tokenOf.get(`${o.id}/${m.userId}`) ?? null) : null,
      })),
    })),
  });
}
