// The request id of a call's HTTP answer (its `x-request-id`), handed to the caller. A removal's
// request id is its batch id, the handle an undo restores it by; the tRPC answer itself keeps
// the contract's shape (`{ memberships }`), so the id travels in the header only, as over REST.
import type { AppRouter } from "@roster/api";
import type { OperationContext, TRPCLink } from "@trpc/client";
import { observable } from "@trpc/server/observable";

/** Pass as `trpc: { context: requestIdContext(fn) }` to receive the answer's request id. */
export const requestIdContext = (onRequestId: (reqId: string) => void): OperationContext => ({ onRequestId });

export const requestIdLink: TRPCLink<AppRouter> =
  () =>
  ({ op, next }) =>
    observable((observer) =>
      next(op).subscribe({
        next(value) {
          const onRequestId = op.context.onRequestId;
          const reqId = (value.context?.response as Response | undefined)?.headers.get("x-request-id");
          if (typeof onRequestId === "function" && reqId) onRequestId(reqId);
          observer.next(value);
        },
        error: (err) => observer.error(err),
        complete: () => observer.complete(),
      }),
    );
