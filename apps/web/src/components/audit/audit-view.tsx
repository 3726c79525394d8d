"use client";

import { useQuery } from "@tanstack/react-query";
import { formatTime } from "@/components/members/badges";
import { useOrg } from "@/components/org-context";
import { errorInfo, useTRPC } from "@/lib/trpc";

const EVENT_LABELS: Record<string, string> = { "organization.membership.deleted": "removed" };

export function AuditView() {
  const { org } = useOrg();
  const trpc = useTRPC();
  const audit = useQuery(trpc.organizations.listAuditBatches.queryOptions({ organizationId: org.id, limit: 50 }));

  return (
    <div className="space-y-4">
      <div>
        <h1 className="text-2xl font-semibold tracking-tight">Audit</h1>
        <p className="text-sm text-zinc-500">Recent changes in {org.name}, newest first, one entry per request.</p>
      </div>
      {audit.isPending ? (
        <div className="space-y-3" aria-hidden>
          {[0, 1, 2].map((i) => (
            <div key={i} className="card h-20 animate-pulse bg-zinc-100" />
          ))}
        </div>
      ) : audit.isError ? (
        <div className="card p-4 text-sm text-red-700" role="alert">
          {errorInfo(audit.error).message}
        </div>
      ) : audit.data.batches.length === 0 ? (
        <div className="card p-8 text-center text-sm text-zinc-500">No changes recorded yet.</div>
      ) : (
        <ol className="space-y-3">
          {audit.data.batches.map((b) => {
            const who =
              b.actor.type === "identity"
                ? `Machine identity ${b.actor.name ?? "(deleted)"}`
                : (b.actor.email ?? "A deleted user");
            const verb = EVENT_LABELS[b.eventType] ?? b.eventType;
            return (
              <li key={b.batchId} className="card p-4" data-testid="audit-batch" data-batch-id={b.batchId}>
                <div className="flex flex-wrap items-baseline justify-between gap-2">
                  <p className="text-sm">
                    <span className="font-medium">{who}</span> {verb} {b.targets.length} member
                    {b.targets.length === 1 ? "" : "s"}
                  </p>
                  <time className="text-xs text-zinc-500" dateTime={b.createdAt}>
                    {formatTime(b.createdAt)}
                  </time>
                </div>
                <p className="mt-1 font-mono text-xs text-zinc-500">Batch {b.batchId}</p>
                <details className="mt-2 text-sm">
                  <summary className="cursor-pointer text-zinc-700">Members</summary>
                  <ul className="mt-2 grid gap-1 sm:grid-cols-2">
                    {b.targets.map((t) => (
                      <li key={t.targetId ?? t.email} className="text-zinc-700">
                        {t.email ?? t.targetId}{" "}
                        {t.role ? <span className="text-xs text-zinc-500">({t.role})</span> : null}
                      </li>
                    ))}
                  </ul>
                </details>
              </li>
            );
          })}
        </ol>
      )}
    </div>
  );
}
