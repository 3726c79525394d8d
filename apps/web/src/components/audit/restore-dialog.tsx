"use client";

import type { AuditBatch, RestoreConflict, RestoreMembershipsResponse } from "@roster/contract";
import { useMutation, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { ConfirmDialog, PreviewMembers } from "@/components/dialog/confirm-dialog";
import { useOrg } from "@/components/org-context";
import { errorInfo, useTRPC } from "@/lib/trpc";

const REASONS: Record<RestoreConflict["reason"], string> = {
  expired: "its restore window has closed",
  alreadyRestored: "already restored",
  memberExists: "a member again",
  userGone: "the account was deleted",
  customRoleGone: "their custom role was deleted",
  projectGone: "a project they were in was deleted",
  projectMemberExists: "in one of their projects again",
};

const plural = (n: number, word: string) => `${n.toLocaleString()} ${word}${n === 1 ? "" : "s"}`;

/**
 * The confirmation before a restore (a ConfirmDialog): the server's preview of what would come
 * back and what conflicts now. With conflicts, the restore goes ahead only when the admin chooses
 * to skip them; otherwise the server would answer 409 and restore nothing.
 */
export function RestoreDialog(props: {
  batch: AuditBatch;
  onClose: () => void;
  onRestored: (result: RestoreMembershipsResponse) => void;
}) {
  const { org } = useOrg();
  const trpc = useTRPC();
  const [skip, setSkip] = useState(false);
  const { batch, onClose, onRestored } = props;
  const emailOf = new Map(batch.targets.map((t) => [t.targetId, t.email]));

  // Asked afresh at each opening: the conflicts are as of now.
  const preview = useQuery({
    ...trpc.organizations.previewRestoreMemberships.queryOptions({ organizationId: org.id, batchId: batch.batchId }),
    staleTime: 0,
    gcTime: 0,
    retry: false,
  });
  const restore = useMutation(trpc.organizations.restoreMemberships.mutationOptions());

  const busy = restore.isPending;
  const data = preview.data;
  const conflicts = data?.conflicts ?? [];
  const blocked = new Set(conflicts.filter((c) => !c.projectId).map((c) => c.membershipId));
  const restorable = data ? data.memberships.filter((m) => !blocked.has(m.id)).length : 0;
  const ready = !!data && !data.blocker && restorable > 0 && !busy && !restore.isSuccess;
  const canSubmit = ready && (conflicts.length === 0 || skip);
  const failure = restore.isError ? errorInfo(restore.error) : preview.isError ? errorInfo(preview.error) : null;

  return (
    <ConfirmDialog
      testId="restore-dialog"
      title={`Restore ${plural(batch.targets.length, "member")} to ${org.name}?`}
      subtitle={<p className="mt-1 font-mono text-xs text-zinc-500">Batch {batch.batchId}</p>}
      description={
        preview.isPending ? (
          "Checking what this restore would do…"
        ) : data ? (
          <span data-testid="restore-summary">
            {plural(restorable, "membership")} and {plural(data.projectMembershipCount, "project membership")} will be
            restored as they were, with the same roles.
            {conflicts.length > 0 ? ` ${plural(conflicts.length, "conflict")} would stop the restore.` : ""}
          </span>
        ) : null
      }
      loading={preview.isPending}
      busy={busy}
      progressLabel="Restoring members"
      blocker={data?.blocker}
      failure={failure}
      failureTestId="restore-error"
      footer={
        conflicts.length > 0 && restorable > 0 ? (
          <label className="flex items-start gap-2 text-sm text-zinc-700">
            <input
              type="checkbox"
              className="mt-0.5 size-4 accent-blue-600"
              checked={skip}
              disabled={busy}
              onChange={(e) => setSkip(e.target.checked)}
            />
            Skip the conflicts and restore the rest
          </label>
        ) : null
      }
      submitLabel={busy ? `Restoring ${restorable.toLocaleString()}…` : `Restore ${restorable.toLocaleString()}`}
      canSubmit={canSubmit}
      onSubmit={() =>
        restore.mutate(
          { organizationId: org.id, batchId: batch.batchId, ...(skip ? { skipConflicts: true } : {}) },
          { onSuccess: onRestored },
        )
      }
      onClose={onClose}
    >
      {conflicts.length > 0 ? (
        <ul
          className="space-y-1 rounded-lg border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900"
          aria-label="Conflicts"
          data-testid="restore-conflicts"
        >
          {conflicts.map((c) => (
            <li key={`${c.membershipId}-${c.projectId ?? ""}`}>
              {emailOf.get(c.membershipId) ?? c.membershipId}: {REASONS[c.reason]}
            </li>
          ))}
        </ul>
      ) : null}
      {data ? (
        <PreviewMembers label="Members to restore" members={data.memberships}>
          {(m) => (
            <span className={`min-w-0 truncate ${blocked.has(m.id) ? "text-zinc-400 line-through" : ""}`}>
              {emailOf.get(m.id) ?? m.inviteEmail ?? m.id}
            </span>
          )}
        </PreviewMembers>
      ) : null}
    </ConfirmDialog>
  );
}
