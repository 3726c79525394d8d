"use client";

import { MEMBER_SORT_FIELDS, MEMBER_STATUS_FILTERS, ORG_ROLES } from "@roster/contract";
import { usePathname, useRouter, useSearchParams } from "next/navigation";
import { useCallback, useMemo } from "react";

export const PAGE_SIZES = [25, 50, 100] as const;
/** By name, A to Z; invites have no name yet and come last (the server sorts them so). */
export const DEFAULT_SORT = "name";

export interface MemberView {
  q: string;
  role: (typeof ORG_ROLES)[number] | undefined;
  status: (typeof MEMBER_STATUS_FILTERS)[number] | undefined;
  sortBy: (typeof MEMBER_SORT_FIELDS)[number];
  sortDir: "asc" | "desc";
  page: number;
  size: number;
}

const oneOf = <T extends string>(list: readonly T[], v: string | null): T | undefined =>
  list.includes(v as T) ? (v as T) : undefined;

// The hooks' types allow null for pages of the Pages Router (the app serves its API routes from
// there); on the App Router's pages, where these hooks run, they always have a value.
const NO_PARAMS = new URLSearchParams();

/** The members table's search, filters, sorting and page, kept in the URL (shareable, survives reload). */
export function useMemberView(): [MemberView, (patch: Partial<MemberView>) => void] {
  const params = useSearchParams() ?? NO_PARAMS;
  const router = useRouter();
  const pathname = usePathname() ?? "/";
  const view = useMemo<MemberView>(() => {
    const size = Number(params.get("size"));
    const page = Number(params.get("page"));
    return {
      q: params.get("q") ?? "",
      role: oneOf(ORG_ROLES, params.get("role")),
      status: oneOf(MEMBER_STATUS_FILTERS, params.get("status")),
      sortBy: oneOf(MEMBER_SORT_FIELDS, params.get("sort")) ?? DEFAULT_SORT,
      sortDir: params.get("dir") === "desc" ? "desc" : "asc",
      page: Number.isInteger(page) && page > 0 ? page : 1,
      size: (PAGE_SIZES as readonly number[]).includes(size) ? size : 25,
    };
  }, [params]);

  const update = useCallback(
    (patch: Partial<MemberView>) => {
      const next = { ...view, ...patch };
      // Any change but the page itself starts again at page 1.
      if (!("page" in patch)) next.page = 1;
      const sp = new URLSearchParams();
      if (next.q) sp.set("q", next.q);
      if (next.role) sp.set("role", next.role);
      if (next.status) sp.set("status", next.status);
      if (next.sortBy !== DEFAULT_SORT) sp.set("sort", next.sortBy);
      if (next.sortDir !== "asc") sp.set("dir", next.sortDir);
      if (next.page !== 1) sp.set("page", String(next.page));
      if (next.size !== 25) sp.set("size", String(next.size));
      const qs = sp.toString();
      router.replace(qs ? `${pathname}?${qs}` : pathname, { scroll: false });
    },
    [view, router, pathname],
  );
  return [view, update];
}
