"use client";

import { useMutation } from "@tanstack/react-query";
import { useEffect, useId, useRef, useState } from "react";
import { ConfirmDialog, PreviewMembers } from "@/components/dialog/confirm-dialog";
import { useOrg } from "@/components/org-context";
import { requestIdContext } from "@/lib/request-id-link";
import { errorInfo, useTRPC } from "@/lib/trpc";
import { MemberName, memberEmail, memberName } from "./badges";
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
 * The confirmation before a removal (a ConfirmDialog): the server's preview of what would go and
 * what would stop it, and a field that asks for "confirm". The preview is asked for once per
 * opening, for the selection as it was when the dialog opened.
 */
export function RemoveDialog(props: {
  ids: string[];
  onClose: () => void;
  /** After a 200: how many went, and the removal's batch id (its request id) to undo it by. */
  onRemoved: (count: number, batchId: string | null) => void;
}) {
  const { org, can, restoreWindowDays } = useOrg();
  const trpc = useTRPC();
  const confirmId = useId();
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
    // Once per opening, also when a development build runs effects twice.
    if (previewed.current) return;
    previewed.current = true;
    runPreview({ organizationId: org.id, membershipIds: ids });
  }, [runPreview, org.id, ids]);

  const busy = remove.isPending;
  const blocker = preview.data?.blocker ?? null;
  const ready = preview.isSuccess && !blocker && !busy && !remove.isSuccess;
  const canSubmit = ready && typed.trim().toLowerCase() === CONFIRM_WORD;
  const count = preview.data?.memberships.length ?? ids.length;
  const failure = remove.isError ? errorInfo(remove.error) : preview.isError ? errorInfo(preview.error) : null;

  return (
    <ConfirmDialog
      testId="remove-dialog"
      title={`Remove ${ids.length.toLocaleString()} member${ids.length === 1 ? "" : "s"} from ${org.name}?`}
      description={
        preview.isPending ? (
          "Checking what this removal would do…"
        ) : preview.data ? (
          <span data-testid="preview-summary">
            {count.toLocaleString()} membership{count === 1 ? "" : "s"} and{" "}
            {preview.data.projectMembershipCount.toLocaleString()} project membership
            {preview.data.projectMembershipCount === 1 ? "" : "s"} will be removed. Their accounts and other
            organizations stay. {undoSentence(restoreWindowDays, can("create", "member"))}
          </span>
        ) : null
      }
      loading={preview.isPending}
      busy={busy}
      progressLabel="Removing members"
      danger
      blocker={blocker}
      blockerTestId="preview-blocker"
      failure={failure}
      failureTestId="remove-error"
      footer={
        <div>
          <label htmlFor={confirmId} className="mb-1 block text-sm text-zinc-700">
            Type <strong>{CONFIRM_WORD}</strong> to remove
          </label>
          <input
            id={confirmId}
            className="input"
            autoComplete="off"
            value={typed}
            disabled={!ready}
            onChange={(e) => setTyped(e.target.value)}
          />
        </div>
      }
      submitLabel={busy ? `Removing ${ids.length.toLocaleString()}…` : `Remove ${count.toLocaleString()}`}
      canSubmit={canSubmit}
      onSubmit={() =>
        remove.mutate(
          { organizationId: org.id, membershipIds: ids },
          { onSuccess: (data) => onRemoved(data.memberships.length, batchId.current) },
        )
      }
      onClose={onClose}
    >
      {preview.data ? (
        <PreviewMembers label="Members to remove" members={preview.data.memberships}>
          {(m) => (
            <span className="min-w-0">
              <span className="block truncate font-medium">
                <MemberName name={memberName(m)} />
              </span>
              <span className="block truncate text-xs text-zinc-500">{memberEmail(m)}</span>
            </span>
          )}
        </PreviewMembers>
      ) : null}
    </ConfirmDialog>
  );
}
