"use client";

import { useMutation } from "@tanstack/react-query";
import { useEffect, useId, useRef, useState } from "react";
import { useOrg } from "@/components/org-context";
import { requestIdContext } from "@/lib/request-id-link";
import { errorInfo, useTRPC } from "@/lib/trpc";
import { MemberName, memberEmail, memberName, RoleLabel } from "./badges";
import { UNDO_SECONDS } from "./undo-toast";

const CONFIRM_WORD = "confirm";

/** What the dialog says about undoing, as the server's restore window and the viewer's rules allow. */
function undoSentence(windowDays: number, canRestore: boolean): string {
  if (windowDays === 0) return "It cannot be undone.";
  const days = `${windowDays} day${windowDays === 1 ? "" : "s"}`;
  return canRestore
    ? `You can undo it for ${UNDO_SECONDS} seconds afterwards, and restore it from the Audit page for ${days}.`
    : `An admin can restore it from the Audit page for ${days}.`;
}

/**
 * The confirmation before a removal: a modal <dialog> (focus stays inside, Escape closes) that
 * shows the server's preview of what would go and what would stop it, and asks for "confirm".
 * The preview is asked for once per opening, for the selection as it was when the dialog opened.
 */
export function RemoveDialog(props: {
  ids: string[];
  onClose: () => void;
  /** After a 200: how many went, and the removal's batch id (its request id) to undo it by. */
  onRemoved: (count: number, batchId: string | null) => void;
}) {
  const { org, can, restoreWindowDays } = useOrg();
  const trpc = useTRPC();
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const descId = useId();
  const [typed, setTyped] = useState("");
  const [ids] = useState(props.ids);
  const batchId = useRef<string | null>(null);
  const previewed = useRef(false);

  const preview = useMutation(trpc.organizations.previewBulkDeleteMemberships.mutationOptions());
  const remove = useMutation(
    trpc.organizations.bulkDeleteMemberships.mutationOptions({
      trpc: {
        context: requestIdContext((reqId) => {
          batchId.current = reqId;
        }),
      },
    }),
  );
  const { onClose, onRemoved } = props;
  const runPreview = preview.mutate;

  useEffect(() => {
    ref.current?.showModal();
    // Once per opening, also when a development build runs effects twice.
    if (previewed.current) return;
    previewed.current = true;
    runPreview({ organizationId: org.id, membershipIds: ids });
  }, [runPreview, org.id, ids]);

  const busy = remove.isPending;
  const blocker = preview.data?.blocker ?? null;
  const ready = preview.isSuccess && !blocker && !busy && !remove.isSuccess;
  const canSubmit = ready && typed.trim().toLowerCase() === CONFIRM_WORD;

  function close() {
    if (busy) return;
    ref.current?.close();
    onClose();
  }

  function submit(e: React.FormEvent) {
    e.preventDefault();
    if (!canSubmit) return;
    remove.mutate(
      { organizationId: org.id, membershipIds: ids },
      { onSuccess: (data) => onRemoved(data.memberships.length, batchId.current) },
    );
  }

  const count = preview.data?.memberships.length ?? ids.length;
  const failure = remove.isError ? errorInfo(remove.error) : preview.isError ? errorInfo(preview.error) : null;

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
      data-testid="remove-dialog"
    >
      <form onSubmit={submit} className="flex max-h-[85vh] flex-col">
        <div className="border-b border-zinc-200 px-5 py-4">
          <h2 id={titleId} className="text-lg font-semibold">
            Remove {ids.length.toLocaleString()} member{ids.length === 1 ? "" : "s"} from {org.name}?
          </h2>
          <p id={descId} className="mt-1 text-sm text-zinc-600">
            {preview.isPending ? (
              "Checking what this removal would do…"
            ) : preview.data ? (
              <span data-testid="preview-summary">
                {count.toLocaleString()} membership{count === 1 ? "" : "s"} and{" "}
                {preview.data.projectMembershipCount.toLocaleString()} project membership
                {preview.data.projectMembershipCount === 1 ? "" : "s"} will be removed. Their accounts and other
                organizations stay. {undoSentence(restoreWindowDays, can("create", "member"))}
              </span>
            ) : null}
          </p>
        </div>

        <div className="min-h-0 flex-1 space-y-3 overflow-y-auto px-5 py-4">
          {blocker ? (
            <div
              className="rounded-lg border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800"
              role="alert"
              data-testid="preview-blocker"
            >
              {blocker.message}
            </div>
          ) : null}
          {failure ? (
            <div
              className="rounded-lg border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800"
              role="alert"
              data-testid="remove-error"
            >
              <p>{failure.message}</p>
              {failure.reqId ? (
                <p className="mt-1 font-mono text-xs text-red-700">Request ID: {failure.reqId}</p>
              ) : null}
            </div>
          ) : null}
          {preview.data ? (
            <ul
              className="divide-y divide-zinc-100 rounded-lg border border-zinc-200 text-sm"
              aria-label="Members to remove"
            >
              {preview.data.memberships.map((m) => (
                <li key={m.id} className="flex items-center justify-between gap-3 px-3 py-2">
                  <span className="min-w-0">
                    <span className="block truncate font-medium">
                      <MemberName name={memberName(m)} />
                    </span>
                    <span className="block truncate text-xs text-zinc-500">{memberEmail(m)}</span>
                  </span>
                  <RoleLabel role={m.role} />
                </li>
              ))}
            </ul>
          ) : preview.isPending ? (
            <div className="h-24 animate-pulse rounded-lg bg-zinc-100" aria-hidden />
          ) : null}
          {busy ? (
            <div role="progressbar" aria-label="Removing members" className="h-1.5 overflow-hidden rounded bg-zinc-200">
              <div className="h-full w-1/3 animate-[progress_1.2s_ease-in-out_infinite] rounded bg-red-600" />
            </div>
          ) : null}
        </div>

        <div className="space-y-3 border-t border-zinc-200 px-5 py-4">
          <div>
            <label htmlFor={`${titleId}-confirm`} className="mb-1 block text-sm text-zinc-700">
              Type <strong>{CONFIRM_WORD}</strong> to remove
            </label>
            <input
              id={`${titleId}-confirm`}
              className="input"
              autoComplete="off"
              value={typed}
              disabled={!ready}
              onChange={(e) => setTyped(e.target.value)}
            />
          </div>
          <div className="flex justify-end gap-2">
            <button type="button" className="btn-secondary" onClick={close} disabled={busy}>
              Cancel
            </button>
            <button type="submit" className="btn-danger" disabled={!canSubmit}>
              {busy ? `Removing ${ids.length.toLocaleString()}…` : `Remove ${count.toLocaleString()}`}
            </button>
          </div>
        </div>
      </form>
    </dialog>
  );
}
