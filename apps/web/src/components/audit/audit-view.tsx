"use client";

import type { AuditBatch, RestoreMembershipsResponse } from "@roster/contract";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useState } from "react";
import { type Notice, Toast } from "@/components/members/toast";
import { useOrg } from "@/components/org-context";
import { errorInfo, useTRPC } from "@/lib/trpc";
import { AuditBatchCard } from "./audit-batch";
import { RestoreDialog } from "./restore-dialog";

const members = (n: number) => `${n} member${n === 1 ? "" : "s"}`;

export function AuditView() {
  const { org, can } = useOrg();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const audit = useQuery(trpc.organizations.listAuditBatches.queryOptions({ organizationId: org.id, limit: 50 }));
  const [restoring, setRestoring] = useState<AuditBatch | null>(null);
  const [notice, setNotice] = useState<Notice | null>(null);
  const endNotice = useCallback(() => setNotice(null), []);

  const onRestored = (result: RestoreMembershipsResponse) => {
    setRestoring(null);
    const skipped = result.skipped.length;
    setNotice({
      text: `Restored ${members(result.memberships.length)}${skipped > 0 ? `; skipped ${skipped} conflict${skipped === 1 ? "" : "s"}` : ""}`,
    });
    void queryClient.invalidateQueries({ queryKey: trpc.organizations.pathKey() });
  };

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
          {audit.data.batches.map((b) => (
            <AuditBatchCard
              key={b.batchId}
              batch={b}
              canRestore={can("create", "member")}
              onRestore={() => setRestoring(b)}
            />
          ))}
        </ol>
      )}
      {restoring ? (
        <RestoreDialog batch={restoring} onClose={() => setRestoring(null)} onRestored={onRestored} />
      ) : null}
      <Toast notice={notice} onDone={endNotice} />
    </div>
  );
}
