"use client";

import type { AuditBatch, RestoreConflict, RestoreMembershipsResponse } from "@roster/contract";
import { useMutation, useQuery } from "@tanstack/react-query";
import { useEffect, useId, useRef, useState } from "react";
import { RoleLabel } from "@/components/members/badges";
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
 * The confirmation before a restore: a modal <dialog> (focus stays inside, Escape closes) that
 * shows the server's preview of what would come back and what conflicts now. With conflicts,
 * the restore goes ahead only when the admin chooses to skip them; otherwise the server would
 * answer 409 and restore nothing.
 */
export function RestoreDialog(props: {
  batch: AuditBatch;
  onClose: () => void;
  onRestored: (result: RestoreMembershipsResponse) => void;
}) {
  const { org } = useOrg();
  const trpc = useTRPC();
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const descId = useId();
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

  useEffect(() => {
    ref.current?.showModal();
  }, []);

  const busy = restore.isPending;
  const data = preview.data;
  const conflicts = data?.conflicts ?? [];
  const blocked = new Set(conflicts.filter((c) => !c.projectId).map((c) => c.membershipId));
  const restorable = data ? data.memberships.filter((m) => !blocked.has(m.id)).length : 0;
  const ready = !!data && !data.blocker && restorable > 0 && !busy && !restore.isSuccess;
  const canSubmit = ready && (conflicts.length === 0 || skip);
  const failure = restore.isError ? errorInfo(restore.error) : preview.isError ? errorInfo(preview.error) : null;

  function close() {
    if (busy) return;
    ref.current?.close();
    onClose();
  }

  function submit(e: React.FormEvent) {
    e.preventDefault();
    if (!canSubmit) return;
    restore.mutate(
      { organizationId: org.id, batchId: batch.batchId, ...(skip ? { skipConflicts: true } : {}) },
      { onSuccess: onRestored },
    );
  }

  return (
    <dialog
      ref={ref}
      aria-labelledby={titleId}
      aria-describedby={descId}
      aria-busy={busy || preview.isPending}
      onCancel={(e) => {
        e.preventDefault();
        close();
      }}
      className="m-auto w-[min(36rem,calc(100vw-2rem))] rounded-xl p-0 shadow-2xl backdrop:bg-zinc-900/50"
      data-testid="restore-dialog"
    >
      <form onSubmit={submit} className="flex max-h-[85vh] flex-col">
        <div className="border-b border-zinc-200 px-5 py-4">
          <h2 id={titleId} className="text-lg font-semibold">
            Restore {plural(batch.targets.length, "member")} to {org.name}?
          </h2>
          <p className="mt-1 font-mono text-xs text-zinc-500">Batch {batch.batchId}</p>
          <p id={descId} className="mt-1 text-sm text-zinc-600">
            {preview.isPending ? (
              "Checking what this restore would do…"
            ) : data ? (
              <span data-testid="restore-summary">
                {plural(restorable, "membership")} and {plural(data.projectMembershipCount, "project membership")} will
                be restored as they were, with the same roles.
                {conflicts.length > 0 ? ` ${plural(conflicts.length, "conflict")} would stop the restore.` : ""}
              </span>
            ) : null}
          </p>
        </div>

        <div className="min-h-0 flex-1 space-y-3 overflow-y-auto px-5 py-4">
          {data?.blocker ? (
            <div className="rounded-lg border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800" role="alert">
              {data.blocker.message}
            </div>
          ) : null}
          {failure ? (
            <div
              className="rounded-lg border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800"
              role="alert"
              data-testid="restore-error"
            >
              <p>{failure.message}</p>
              {failure.reqId ? (
                <p className="mt-1 font-mono text-xs text-red-700">Request ID: {failure.reqId}</p>
              ) : null}
            </div>
          ) : null}
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
            <ul
              className="divide-y divide-zinc-100 rounded-lg border border-zinc-200 text-sm"
              aria-label="Members to restore"
            >
              {data.memberships.map((m) => (
                <li key={m.id} className="flex items-center justify-between gap-3 px-3 py-2">
                  <span className={`min-w-0 truncate ${blocked.has(m.id) ? "text-zinc-400 line-through" : ""}`}>
                    {emailOf.get(m.id) ?? m.inviteEmail ?? m.id}
                  </span>
                  <RoleLabel role={m.role} />
                </li>
              ))}
            </ul>
          ) : preview.isPending ? (
            <div className="h-24 animate-pulse rounded-lg bg-zinc-100" aria-hidden />
          ) : null}
          {busy ? (
            <div
              role="progressbar"
              aria-label="Restoring members"
              className="h-1.5 overflow-hidden rounded bg-zinc-200"
            >
              <div className="h-full w-1/3 animate-[progress_1.2s_ease-in-out_infinite] rounded bg-blue-600" />
            </div>
          ) : null}
        </div>

        <div className="space-y-3 border-t border-zinc-200 px-5 py-4">
          {conflicts.length > 0 && restorable > 0 ? (
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
          ) : null}
          <div className="flex justify-end gap-2">
            <button type="button" className="btn-secondary" onClick={close} disabled={busy}>
              Cancel
            </button>
            <button type="submit" className="btn-primary" disabled={!canSubmit}>
              {busy ? `Restoring ${restorable.toLocaleString()}…` : `Restore ${restorable.toLocaleString()}`}
            </button>
          </div>
        </div>
      </form>
    </dialog>
  );
}
