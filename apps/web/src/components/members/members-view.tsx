"use client";

import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useState } from "react";
import { useOrg } from "@/components/org-context";
import { errorInfo, useTRPC } from "@/lib/trpc";
import { MembersTable, type SortField } from "./members-table";
import { MembersToolbar } from "./members-toolbar";
import { RemoveDialog } from "./remove-dialog";
import { type Notice, Toast } from "./toast";
import { UNDO_SECONDS, UndoToast } from "./undo-toast";
import { PAGE_SIZES, useMemberView } from "./url-state";
import { useSelection } from "./use-selection";

const SORT_LABELS: Record<SortField, string> = {
  name: "name",
  email: "email",
  role: "role",
  status: "status",
  lastLoginTime: "last login",
  createdAt: "date added",
  projectCount: "projects",
};

/** The active sort in words, e.g. "Sorted by name, A–Z, invites last". */
function sortDescription(sortBy: SortField, sortDir: "asc" | "desc"): string {
  const order =
    sortBy === "name" || sortBy === "email"
      ? sortDir === "asc"
        ? "A–Z"
        : "Z–A"
      : sortDir === "asc"
        ? "ascending"
        : "descending";
  return `Sorted by ${SORT_LABELS[sortBy]}, ${order}${sortBy === "name" ? ", invites last" : ""}`;
}

const members = (n: number) => `${n} member${n === 1 ? "" : "s"}`;

/** The removal just made, while its Undo is offered. */
interface Undoable {
  batchId: string;
  count: number;
  until: number;
}

export function MembersView() {
  const { org, can, restoreWindowDays } = useOrg();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [view, setView] = useMemberView();
  const canRemove = can("delete", "member");
  const canUndo = can("create", "member") && restoreWindowDays > 0;

  const filters = { organizationId: org.id, search: view.q || undefined, role: view.role, status: view.status };
  const list = useQuery({
    ...trpc.organizations.listMemberships.queryOptions({
      ...filters,
      limit: view.size,
      page: view.page,
      sortBy: view.sortBy,
      sortDir: view.sortDir,
    }),
    placeholderData: keepPreviousData,
  });
  const rows = list.data?.items ?? [];
  const total = list.data?.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / view.size));

  const filterKey = JSON.stringify([view.q, view.role ?? null, view.status ?? null]);
  const selection = useSelection({ rows, filters, filterKey });
  const [dialogOpen, setDialogOpen] = useState(false);
  const [notice, setNotice] = useState<Notice | null>(null);
  const [undoable, setUndoable] = useState<Undoable | null>(null);
  const restore = useMutation(trpc.organizations.restoreMemberships.mutationOptions());

  const refresh = useCallback(
    () => void queryClient.invalidateQueries({ queryKey: trpc.organizations.pathKey() }),
    [queryClient, trpc],
  );
  const { clear } = selection;
  const onRemoved = useCallback(
    (count: number, batchId: string | null) => {
      setDialogOpen(false);
      clear();
      const text = `Removed ${members(count)}`;
      if (canUndo && batchId && count > 0) {
        setNotice(null);
        setUndoable({ batchId, count, until: Date.now() + UNDO_SECONDS * 1000 });
      } else {
        setUndoable(null);
        setNotice({ text });
      }
      refresh();
    },
    [clear, canUndo, refresh],
  );

  const undo = (batch: Undoable) =>
    restore.mutate(
      { organizationId: org.id, batchId: batch.batchId },
      {
        onSuccess: (data) => setNotice({ text: `Restored ${members(data.memberships.length)}` }),
        onError: (err) => {
          const { message, reqId } = errorInfo(err);
          const link = { href: `/orgs/${org.slug}/audit`, label: "Open the Audit page" };
          setNotice({ text: message, reqId, error: true, link });
        },
        onSettled: () => {
          setUndoable(null);
          refresh();
        },
      },
    );
  const endUndo = useCallback(() => setUndoable(null), []);
  const endNotice = useCallback(() => setNotice(null), []);

  return (
    <div className="space-y-4 pb-24">
      <div className="flex flex-wrap items-end justify-between gap-3">
        <div>
          <h1 className="text-2xl font-semibold tracking-tight">Members</h1>
          <p className="text-sm text-zinc-500">
            {org.name} · {list.data ? `${total.toLocaleString()} matching` : "Loading…"}
            <span className="block sm:inline" data-testid="sort-status">
              <span className="hidden sm:inline"> · </span>
              {sortDescription(view.sortBy, view.sortDir)}
            </span>
          </p>
        </div>
      </div>

      <MembersToolbar view={view} setView={setView} total={total} selection={canRemove ? selection : null} />
      <MembersTable
        rows={rows}
        list={list}
        search={view.q}
        sortBy={view.sortBy}
        sortDir={view.sortDir}
        onSort={(sortBy, sortDir) => setView({ sortBy, sortDir })}
        ownId={org.membershipId}
        selection={canRemove ? selection : null}
      />
      <Pager page={view.page} pages={pages} size={view.size} onChange={setView} />

      {canRemove && selection.selected.size > 0 ? (
        <div
          className="fixed inset-x-0 bottom-0 z-40 border-t border-zinc-200 bg-white/95 backdrop-blur"
          data-testid="selection-bar"
        >
          <div className="mx-auto flex max-w-6xl items-center gap-3 px-4 py-3">
            <span className="text-sm font-medium" aria-live="polite">
              {selection.selected.size.toLocaleString()} selected
            </span>
            <button type="button" className="btn-ghost" onClick={selection.clear}>
              Clear
            </button>
            <button type="button" className="btn-danger ml-auto" onClick={() => setDialogOpen(true)}>
              Remove…
            </button>
          </div>
        </div>
      ) : null}

      {dialogOpen ? (
        <RemoveDialog ids={selection.ids} onClose={() => setDialogOpen(false)} onRemoved={onRemoved} />
      ) : null}
      {undoable ? (
        <UndoToast
          key={undoable.batchId}
          text={`Removed ${members(undoable.count)}`}
          until={undoable.until}
          busy={restore.isPending}
          onUndo={() => undo(undoable)}
          onExpire={endUndo}
          onDismiss={endUndo}
        />
      ) : (
        <Toast notice={notice} onDone={endNotice} />
      )}
    </div>
  );
}

function Pager(props: {
  page: number;
  pages: number;
  size: number;
  onChange: (patch: { page?: number; size?: number }) => void;
}) {
  return (
    <nav className="flex flex-wrap items-center justify-between gap-3 text-sm" aria-label="Pages">
      <div className="flex items-center gap-2">
        <label htmlFor="page-size" className="text-zinc-600">
          Rows per page
        </label>
        <select
          id="page-size"
          className="input w-auto py-1"
          value={props.size}
          onChange={(e) => props.onChange({ size: Number(e.target.value) })}
        >
          {PAGE_SIZES.map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
      </div>
      <div className="flex items-center gap-2">
        <span className="text-zinc-600" data-testid="page-status">
          Page {Math.min(props.page, props.pages)} of {props.pages}
        </span>
        <button
          type="button"
          className="btn-secondary"
          disabled={props.page <= 1}
          onClick={() => props.onChange({ page: props.page - 1 })}
        >
          Previous
        </button>
        <button
          type="button"
          className="btn-secondary"
          disabled={props.page >= props.pages}
          onClick={() => props.onChange({ page: props.page + 1 })}
        >
          Next
        </button>
      </div>
    </nav>
  );
}
