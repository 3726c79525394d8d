"use client";

import { type ListedMembership, type MEMBER_SORT_FIELDS, ORG_ROLES } from "@roster/contract";
import { keepPreviousData, useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useOrg } from "@/components/org-context";
import { errorInfo, useTRPC } from "@/lib/trpc";
import { formatTime, MemberName, memberEmail, memberName, ROLE_LABELS, RoleLabel, StatusBadge } from "./badges";
import { RemoveDialog } from "./remove-dialog";
import { Toast } from "./toast";
import { PAGE_SIZES, useMemberView } from "./url-state";

type SortField = (typeof MEMBER_SORT_FIELDS)[number];

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

export function MembersView() {
  const { org, can, maxBulkDelete } = useOrg();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [view, setView] = useMemberView();
  const canRemove = can("delete", "member");

  // The search box updates the URL after a pause in typing.
  const [search, setSearch] = useState(view.q);
  useEffect(() => setSearch(view.q), [view.q]);
  useEffect(() => {
    if (search === view.q) return;
    const t = setTimeout(() => setView({ q: search }), 300);
    return () => clearTimeout(t);
  }, [search, view.q, setView]);

  const filters = { organizationId: org.id, search: view.q || undefined, role: view.role, status: view.status };
  const list = useQuery({
    ...trpc.organizations.listMemberships.queryOptions({
      ...filters,
      limit: view.size,
      cursor: view.page > 1 ? String((view.page - 1) * view.size) : null,
      sortBy: view.sortBy,
      sortDir: view.sortDir,
    }),
    placeholderData: keepPreviousData,
  });
  const rows = list.data?.items ?? [];
  const total = list.data?.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / view.size));

  const [selected, setSelected] = useState<Set<string>>(() => new Set());
  const [notice, setNotice] = useState<string | null>(null);
  const [toast, setToast] = useState<string | null>(null);
  const [dialogOpen, setDialogOpen] = useState(false);
  const [selectingAll, setSelectingAll] = useState(false);
  // The search and filters whose every match is selected (by "select all matching"), if any.
  const filterKey = JSON.stringify([view.q, view.role ?? null, view.status ?? null]);
  const [allMatchingOf, setAllMatchingOf] = useState<string | null>(null);

  const selectable = rows.filter((r) => r.id !== org.membershipId);
  const pageSelected = selectable.filter((r) => selected.has(r.id)).length;
  const allOnPage = selectable.length > 0 && pageSelected === selectable.length;

  const toggle = (id: string) => {
    setAllMatchingOf(null);
    setSelected((prev) => {
      const next = new Set(prev);
      if (next.has(id)) next.delete(id);
      else if (next.size < maxBulkDelete) next.add(id);
      else setNotice(`One removal takes at most ${maxBulkDelete} members.`);
      return next;
    });
  };

  const togglePage = () => {
    setAllMatchingOf(null);
    setSelected((prev) => {
      const next = new Set(prev);
      for (const r of selectable) {
        if (allOnPage) next.delete(r.id);
        else if (next.size < maxBulkDelete) next.add(r.id);
      }
      return next;
    });
  };

  async function selectAllMatching() {
    setSelectingAll(true);
    const key = filterKey;
    try {
      const res = await queryClient.fetchQuery(trpc.organizations.listMembershipIds.queryOptions(filters));
      const others = res.ids.filter((id) => id !== org.membershipId);
      const ids = others.slice(0, maxBulkDelete);
      setSelected(new Set(ids));
      setAllMatchingOf(key);
      const of = `Selected ${ids.length.toLocaleString()} of ${res.total.toLocaleString()} matching members`;
      setNotice(
        res.capped || ids.length < others.length
          ? `${of}: one removal takes at most ${maxBulkDelete.toLocaleString()}.`
          : others.length < res.ids.length
            ? `${of}: you cannot remove yourself.`
            : `Selected all ${ids.length.toLocaleString()} matching members.`,
      );
    } catch (err) {
      setNotice(errorInfo(err).message);
    } finally {
      setSelectingAll(false);
    }
  }

  const clear = () => {
    setAllMatchingOf(null);
    setSelected(new Set());
    setNotice(null);
  };

  const onRemoved = useCallback(
    (count: number) => {
      setDialogOpen(false);
      setAllMatchingOf(null);
      setSelected(new Set());
      setNotice(null);
      setToast(`Removed ${count} member${count === 1 ? "" : "s"}`);
      void queryClient.invalidateQueries({ queryKey: trpc.organizations.pathKey() });
    },
    [queryClient, trpc],
  );

  const sortHeader = (field: SortField, label: string, className = "") => {
    const active = view.sortBy === field;
    const nextDir = active && view.sortDir === "asc" ? "desc" : "asc";
    return (
      <th
        scope="col"
        className={`px-3 py-2.5 text-left font-medium ${className}`}
        aria-sort={active ? (view.sortDir === "asc" ? "ascending" : "descending") : "none"}
      >
        <button
          type="button"
          className="inline-flex items-center gap-1 hover:text-zinc-900"
          onClick={() => setView({ sortBy: field, sortDir: nextDir })}
        >
          {label}
          <span aria-hidden className={active ? "text-zinc-900" : "text-zinc-300"}>
            {active && view.sortDir === "desc" ? "↓" : "↑"}
          </span>
        </button>
      </th>
    );
  };

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

      <search className="card flex flex-wrap items-end gap-3 p-3" aria-label="Filter members">
        <div className="min-w-56 flex-1">
          <label htmlFor="member-search" className="mb-1 block text-xs font-medium text-zinc-600">
            Search
          </label>
          <input
            id="member-search"
            type="search"
            className="input"
            placeholder="Name or email"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
          />
        </div>
        <FilterSelect
          id="role-filter"
          label="Role"
          anyLabel="Any role"
          value={view.role}
          options={ORG_ROLES.map((r) => [r, ROLE_LABELS[r]] as const)}
          onChange={(role) => setView({ role })}
        />
        <FilterSelect
          id="status-filter"
          label="Status"
          anyLabel="Any status"
          value={view.status}
          options={[
            ["active", "Active"],
            ["inactive", "Inactive"],
            ["invited", "Invited"],
          ]}
          onChange={(status) => setView({ status })}
        />
      </search>

      {canRemove &&
      allOnPage &&
      allMatchingOf !== filterKey &&
      total > pageSelected &&
      selected.size < Math.min(total, maxBulkDelete) ? (
        <div className="rounded-lg bg-blue-50 px-4 py-2 text-sm text-blue-900" role="status">
          All {pageSelected} members on this page are selected.{" "}
          <button
            type="button"
            className="font-medium underline underline-offset-2 disabled:opacity-50"
            onClick={selectAllMatching}
            disabled={selectingAll}
          >
            {selectingAll ? "Selecting…" : `Select all ${total.toLocaleString()} matching`}
          </button>
        </div>
      ) : null}
      {notice ? (
        <div
          className="rounded-lg bg-zinc-100 px-4 py-2 text-sm text-zinc-800"
          role="status"
          data-testid="selection-notice"
        >
          {notice}
        </div>
      ) : null}

      <div className="card overflow-x-auto">
        <table className="w-full min-w-[22rem] text-sm">
          <thead className="border-b border-zinc-200 bg-zinc-50 text-zinc-600">
            <tr>
              {canRemove ? (
                <th scope="col" className="w-10 px-3 py-2.5">
                  <HeaderCheckbox
                    checked={allOnPage}
                    indeterminate={pageSelected > 0 && !allOnPage}
                    disabled={selectable.length === 0}
                    onChange={togglePage}
                  />
                </th>
              ) : null}
              {sortHeader("name", "Name")}
              {sortHeader("email", "Email", "hidden md:table-cell")}
              {sortHeader("role", "Role", "hidden sm:table-cell")}
              {sortHeader("status", "Status")}
              {sortHeader("lastLoginTime", "Last login", "hidden lg:table-cell")}
              {sortHeader("projectCount", "Projects", "hidden sm:table-cell")}
            </tr>
          </thead>
          <tbody className="divide-y divide-zinc-100">
            {list.isPending ? (
              <SkeletonRows columns={canRemove ? 7 : 6} />
            ) : list.isError ? (
              <tr>
                <td colSpan={7} className="px-3 py-8 text-center text-red-700" role="alert">
                  {errorInfo(list.error).message}
                  {errorInfo(list.error).reqId ? (
                    <span className="block text-xs text-zinc-500">Request {errorInfo(list.error).reqId}</span>
                  ) : null}
                </td>
              </tr>
            ) : rows.length === 0 ? (
              <tr>
                <td colSpan={7} className="px-3 py-10 text-center text-zinc-500">
                  No members match{view.q ? ` “${view.q}”` : ""}.
                </td>
              </tr>
            ) : (
              rows.map((m) => (
                <MemberRow
                  key={m.id}
                  m={m}
                  own={m.id === org.membershipId}
                  canRemove={canRemove}
                  checked={selected.has(m.id)}
                  onToggle={() => toggle(m.id)}
                />
              ))
            )}
          </tbody>
        </table>
      </div>

      <nav className="flex flex-wrap items-center justify-between gap-3 text-sm" aria-label="Pages">
        <div className="flex items-center gap-2">
          <label htmlFor="page-size" className="text-zinc-600">
            Rows per page
          </label>
          <select
            id="page-size"
            className="input w-auto py-1"
            value={view.size}
            onChange={(e) => setView({ size: Number(e.target.value) })}
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
            Page {Math.min(view.page, pages)} of {pages}
          </span>
          <button
            type="button"
            className="btn-secondary"
            disabled={view.page <= 1}
            onClick={() => setView({ page: view.page - 1 })}
          >
            Previous
          </button>
          <button
            type="button"
            className="btn-secondary"
            disabled={view.page >= pages}
            onClick={() => setView({ page: view.page + 1 })}
          >
            Next
          </button>
        </div>
      </nav>

      {canRemove && selected.size > 0 ? (
        <div
          className="fixed inset-x-0 bottom-0 z-40 border-t border-zinc-200 bg-white/95 backdrop-blur"
          data-testid="selection-bar"
        >
          <div className="mx-auto flex max-w-6xl items-center gap-3 px-4 py-3">
            <span className="text-sm font-medium" aria-live="polite">
              {selected.size.toLocaleString()} selected
            </span>
            <button type="button" className="btn-ghost" onClick={clear}>
              Clear
            </button>
            <button type="button" className="btn-danger ml-auto" onClick={() => setDialogOpen(true)}>
              Remove…
            </button>
          </div>
        </div>
      ) : null}

      {dialogOpen ? (
        <RemoveDialog ids={[...selected]} onClose={() => setDialogOpen(false)} onRemoved={onRemoved} />
      ) : null}
      <Toast message={toast} onDone={() => setToast(null)} />
    </div>
  );
}

function FilterSelect<T extends string>(props: {
  id: string;
  label: string;
  anyLabel: string;
  value: T | undefined;
  options: readonly (readonly [T, string])[];
  onChange: (value: T | undefined) => void;
}) {
  return (
    <div>
      <label htmlFor={props.id} className="mb-1 block text-xs font-medium text-zinc-600">
        {props.label}
      </label>
      <select
        id={props.id}
        className="input"
        value={props.value ?? ""}
        onChange={(e) => props.onChange((e.target.value || undefined) as T | undefined)}
      >
        <option value="">{props.anyLabel}</option>
        {props.options.map(([value, text]) => (
          <option key={value} value={value}>
            {text}
          </option>
        ))}
      </select>
    </div>
  );
}

function HeaderCheckbox(props: { checked: boolean; indeterminate: boolean; disabled: boolean; onChange: () => void }) {
  const ref = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (ref.current) ref.current.indeterminate = props.indeterminate;
  }, [props.indeterminate]);
  return (
    <input
      ref={ref}
      type="checkbox"
      className="size-4 accent-blue-600"
      aria-label="Select all members on this page"
      checked={props.checked}
      disabled={props.disabled}
      onChange={props.onChange}
    />
  );
}

function MemberRow(props: {
  m: ListedMembership;
  own: boolean;
  canRemove: boolean;
  checked: boolean;
  onToggle: () => void;
}) {
  const { m, own } = props;
  const name = memberName(m);
  const email = memberEmail(m);
  return (
    <tr className={props.checked ? "bg-blue-50/60" : "hover:bg-zinc-50"} data-testid="member-row" data-email={email}>
      {props.canRemove ? (
        <td className="px-3 py-2.5">
          <span title={own ? "You cannot remove yourself" : undefined} className="inline-flex">
            <input
              type="checkbox"
              className="size-4 accent-blue-600"
              aria-label={own ? `${name ?? email} (you cannot remove yourself)` : `Select ${name ?? email}`}
              checked={props.checked}
              disabled={own}
              onChange={props.onToggle}
            />
          </span>
        </td>
      ) : null}
      <td className="px-3 py-2.5">
        <div className="font-medium text-zinc-900">
          <MemberName name={name} />
          {own ? <span className="ml-2 text-xs font-normal text-zinc-500">(you)</span> : null}
        </div>
        <div className="text-xs text-zinc-500 md:hidden">
          {email}
          <span className="sm:hidden">
            {" · "}
            <RoleLabel role={m.role} />
          </span>
        </div>
      </td>
      <td className="hidden px-3 py-2.5 text-zinc-700 md:table-cell">{email}</td>
      <td className="hidden px-3 py-2.5 sm:table-cell">
        <RoleLabel role={m.role} />
      </td>
      <td className="px-3 py-2.5">
        <StatusBadge m={m} />
      </td>
      <td className="hidden px-3 py-2.5 text-zinc-600 lg:table-cell">{formatTime(m.lastLoginTime)}</td>
      <td className="hidden px-3 py-2.5 text-zinc-600 sm:table-cell">{m.projectCount}</td>
    </tr>
  );
}

function SkeletonRows({ columns }: { columns: number }) {
  const cells = useMemo(() => Array.from({ length: columns }, (_, i) => i), [columns]);
  return (
    <>
      {Array.from({ length: 8 }, (_, r) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: placeholder rows have no identity
        <tr key={r} aria-hidden>
          {cells.map((c) => (
            <td key={c} className="px-3 py-3">
              <div className="h-3 animate-pulse rounded bg-zinc-200" />
            </td>
          ))}
        </tr>
      ))}
    </>
  );
}
