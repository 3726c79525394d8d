"use client";

import type { ListedMembership, MEMBER_SORT_FIELDS } from "@roster/contract";
import { useEffect, useMemo, useRef } from "react";
import { errorInfo } from "@/lib/trpc";
import { formatTime, MemberName, memberEmail, memberName, RoleLabel, StatusBadge } from "./badges";
import type { Selection } from "./use-selection";

export type SortField = (typeof MEMBER_SORT_FIELDS)[number];

/** The members of one page, sortable by column, with a checkbox per row when the viewer may remove. */
export function MembersTable(props: {
  rows: ListedMembership[];
  list: { isPending: boolean; isError: boolean; error: unknown };
  search: string;
  sortBy: SortField;
  sortDir: "asc" | "desc";
  onSort: (sortBy: SortField, sortDir: "asc" | "desc") => void;
  ownId: string;
  /** Null when the viewer may not remove members: no checkboxes. */
  selection: Selection | null;
}) {
  const { rows, list, selection } = props;

  const sortHeader = (field: SortField, label: string, className = "") => {
    const active = props.sortBy === field;
    const nextDir = active && props.sortDir === "asc" ? "desc" : "asc";
    return (
      <th
        scope="col"
        className={`px-3 py-2.5 text-left font-medium ${className}`}
        aria-sort={active ? (props.sortDir === "asc" ? "ascending" : "descending") : "none"}
      >
        <button
          type="button"
          className="inline-flex items-center gap-1 hover:text-zinc-900"
          onClick={() => props.onSort(field, nextDir)}
        >
          {label}
          <span aria-hidden className={active ? "text-zinc-900" : "text-zinc-300"}>
            {active && props.sortDir === "desc" ? "↓" : "↑"}
          </span>
        </button>
      </th>
    );
  };

  return (
    <div className="card overflow-x-auto">
      <table className="w-full min-w-[22rem] text-sm">
        <thead className="border-b border-zinc-200 bg-zinc-50 text-zinc-600">
          <tr>
            {selection ? (
              <th scope="col" className="w-10 px-3 py-2.5">
                <HeaderCheckbox
                  checked={selection.allOnPage}
                  indeterminate={selection.pageSelected > 0 && !selection.allOnPage}
                  disabled={selection.selectableOnPage === 0}
                  onChange={selection.togglePage}
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
            <SkeletonRows columns={selection ? 7 : 6} />
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
                No members match{props.search ? ` “${props.search}”` : ""}.
              </td>
            </tr>
          ) : (
            rows.map((m) => (
              <MemberRow
                key={m.id}
                m={m}
                own={m.id === props.ownId}
                canRemove={selection !== null}
                checked={selection?.selected.has(m.id) ?? false}
                onToggle={() => selection?.toggle(m.id)}
              />
            ))
          )}
        </tbody>
      </table>
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
