"use client";

import { ORG_ROLES } from "@roster/contract";
import { useEffect, useState } from "react";
import { useOrg } from "@/components/org-context";
import { ROLE_LABELS } from "./badges";
import type { MemberView } from "./url-state";
import type { Selection } from "./use-selection";

/**
 * Above the table: the search box and the filters (kept in the URL), the offer to select every
 * member matching them, and the selection's notices.
 */
export function MembersToolbar(props: {
  view: MemberView;
  setView: (patch: Partial<MemberView>) => void;
  total: number;
  /** Null when the viewer may not remove members. */
  selection: Selection | null;
}) {
  const { maxBulkDelete } = useOrg();
  const { view, setView, total, selection } = props;

  // The search box updates the URL after a pause in typing.
  const [search, setSearch] = useState(view.q);
  useEffect(() => setSearch(view.q), [view.q]);
  useEffect(() => {
    if (search === view.q) return;
    const t = setTimeout(() => setView({ q: search }), 300);
    return () => clearTimeout(t);
  }, [search, view.q, setView]);

  const offerAllMatching =
    selection?.allOnPage &&
    !selection.allMatching &&
    total > selection.pageSelected &&
    selection.selected.size < Math.min(total, maxBulkDelete);

  return (
    <>
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

      {offerAllMatching ? (
        <div className="rounded-lg bg-blue-50 px-4 py-2 text-sm text-blue-900" role="status">
          All {selection.pageSelected} members on this page are selected.{" "}
          <button
            type="button"
            className="font-medium underline underline-offset-2 disabled:opacity-50"
            onClick={selection.selectAllMatching}
            disabled={selection.selectingAll}
          >
            {selection.selectingAll ? "Selecting…" : `Select all ${total.toLocaleString()} matching`}
          </button>
        </div>
      ) : null}
      {selection?.notice ? (
        <div
          className="rounded-lg bg-zinc-100 px-4 py-2 text-sm text-zinc-800"
          role="status"
          data-testid="selection-notice"
        >
          {selection.notice}
        </div>
      ) : null}
    </>
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
