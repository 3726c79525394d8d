"use client";

import type { PermissionAction, PermissionSubject, ViewerOrganization } from "@roster/contract";
import { createContext, type ReactNode, useContext } from "react";

interface OrgContextValue {
  org: ViewerOrganization;
  organizations: ViewerOrganization[];
  viewerEmail: string;
  maxBulkDelete: number;
  /** How many days a removal can be restored (0: never). */
  restoreWindowDays: number;
}

const OrgContext = createContext<OrgContextValue | null>(null);

export function OrgProvider({ value, children }: { value: OrgContextValue; children: ReactNode }) {
  return <OrgContext.Provider value={value}>{children}</OrgContext.Provider>;
}

export function useOrg(): OrgContextValue & { can: (action: PermissionAction, subject: PermissionSubject) => boolean } {
  const value = useContext(OrgContext);
  if (!value) throw new Error("useOrg outside an organization page");
  return {
    ...value,
    can: (action, subject) => value.org.rules.some((r) => r.subject === subject && r.actions.includes(action)),
  };
}
