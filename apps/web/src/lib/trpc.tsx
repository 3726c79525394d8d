"use client";

import type { AppRouter } from "@roster/api";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { createTRPCClient, httpBatchLink } from "@trpc/client";
import { createTRPCContext } from "@trpc/tanstack-react-query";
import { type ReactNode, useState } from "react";
import { z } from "zod";
import { requestIdLink } from "./request-id-link";

// In the browser, zod would probe `new Function` to compile its validators; the page's CSP refuses
// eval, and a refused probe is reported as a violation although zod then does without. Tell it
// not to try. (Server-side rendering keeps the compiled validators.)
if (typeof window !== "undefined") z.config({ jitless: true });

export const { TRPCProvider, useTRPC } = createTRPCContext<AppRouter>();

/** A failed tRPC call's contract fields, for showing the server's message and reqId. */
export function errorInfo(err: unknown): { message: string; reqId: string | null; status: number | null } {
  const e = err as { message?: string; data?: { reqId?: string | null; httpStatus?: number } } | null;
  return {
    message: e?.message || "Something went wrong",
    reqId: e?.data?.reqId ?? null,
    status: e?.data?.httpStatus ?? null,
  };
}

export function Providers({ children }: { children: ReactNode }) {
  const [queryClient] = useState(
    () =>
      new QueryClient({
        defaultOptions: {
          queries: { staleTime: 10_000, retry: (count, err) => count < 2 && (errorInfo(err).status ?? 500) >= 500 },
        },
      }),
  );
  const [trpcClient] = useState(() =>
    createTRPCClient<AppRouter>({
      links: [requestIdLink, httpBatchLink({ url: "/api/trpc", maxURLLength: 4000, maxItems: 10 })],
    }),
  );
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        {children}
      </TRPCProvider>
    </QueryClientProvider>
  );
}
