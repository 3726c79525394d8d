"use client";

import type { ListedMembership, ListMembershipIdsInput } from "@roster/contract";
import { useQueryClient } from "@tanstack/react-query";
import { useCallback, useMemo, useState } from "react";
import { useOrg } from "@/components/org-context";
import { errorInfo, useTRPC } from "@/lib/trpc";

/**
 * The members selected for removal: ticked one by one, a page at a time, or every member
 * matching the search and filters (up to MAX_BULK_DELETE, never the viewer's own row).
 */
export function useSelection(opts: { rows: ListedMembership[]; filters: ListMembershipIdsInput; filterKey: string }) {
  const { org, maxBulkDelete } = useOrg();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const { rows, filters, filterKey } = opts;

  const [selected, setSelected] = useState<Set<string>>(() => new Set());
  const [notice, setNotice] = useState<string | null>(null);
  const [selectingAll, setSelectingAll] = useState(false);
  // The search and filters whose every match is selected (by "select all matching"), if any.
  const [allMatchingOf, setAllMatchingOf] = useState<string | null>(null);

  const selectable = rows.filter((r) => r.id !== org.membershipId);
  const pageSelected = selectable.filter((r) => selected.has(r.id)).length;
  const allOnPage = selectable.length > 0 && pageSelected === selectable.length;
  // One array per selection, not per render: the remove dialog previews it once per opening.
  const ids = useMemo(() => [...selected], [selected]);

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
      const picked = others.slice(0, maxBulkDelete);
      setSelected(new Set(picked));
      setAllMatchingOf(key);
      const of = `Selected ${picked.length.toLocaleString()} of ${res.total.toLocaleString()} matching members`;
      setNotice(
        res.capped || picked.length < others.length
          ? `${of}: one removal takes at most ${maxBulkDelete.toLocaleString()}.`
          : others.length < res.ids.length
            ? `${of}: you cannot remove yourself.`
            : `Selected all ${picked.length.toLocaleString()} matching members.`,
      );
    } catch (err) {
      setNotice(errorInfo(err).message);
    } finally {
      setSelectingAll(false);
    }
  }

  /** Nothing selected, no notice (Clear, and after a removal). */
  const clear = useCallback(() => {
    setAllMatchingOf(null);
    setSelected(new Set());
    setNotice(null);
  }, []);

  return {
    selected,
    ids,
    notice,
    selectingAll,
    /** Every match of the current search and filters is selected. */
    allMatching: allMatchingOf === filterKey,
    selectableOnPage: selectable.length,
    pageSelected,
    allOnPage,
    toggle,
    togglePage,
    selectAllMatching,
    clear,
  };
}

export type Selection = ReturnType<typeof useSelection>;
