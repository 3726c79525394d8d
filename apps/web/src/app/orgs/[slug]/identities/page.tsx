import type { Metadata } from "next";
import { IdentitiesView } from "@/components/identities/identities-view";

export const metadata: Metadata = { title: "Machine identities" };

export default function IdentitiesPage() {
  return <IdentitiesView />;
}
