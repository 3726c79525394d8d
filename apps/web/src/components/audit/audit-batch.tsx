"use client";

import type { AuditBatch } from "@roster/contract";
import { formatTime } from "@/components/members/badges";

const MEMBERSHIP_DELETED = "organization.membership.deleted";
const EVENT_LABELS: Record<string, string> = {
  [MEMBERSHIP_DELETED]: "removed",
  "organization.membership.restored": "restored",
};

/** One request's events: who did what to whom, and for a removal whether it can be (or was) restored. */
export function AuditBatchCard(props: { batch: AuditBatch; canRestore: boolean; onRestore: () => void }) {
  const b = props.batch;
  const who =
    b.actor.type === "identity"
      ? `Machine identity ${b.actor.name ?? "(deleted)"}`
      : (b.actor.email ?? "A deleted user");
  const verb = EVENT_LABELS[b.eventType] ?? b.eventType;
  const restored = b.restoredCount >= b.targets.length ? "all" : b.restoredCount > 0 ? "some" : "none";
  return (
    <li className="card p-4" data-testid="audit-batch" data-batch-id={b.batchId}>
      <div className="flex flex-wrap items-baseline justify-between gap-2">
        <p className="text-sm">
          <span className="font-medium">{who}</span> {verb} {b.targets.length} member
          {b.targets.length === 1 ? "" : "s"}
          {restored === "all" ? (
            <span
              className="badge ml-2 bg-emerald-50 text-emerald-700 ring-emerald-600/20"
              data-testid="restored-badge"
            >
              Restored
            </span>
          ) : restored === "some" ? (
            <span className="badge ml-2 bg-amber-50 text-amber-800 ring-amber-600/20" data-testid="restored-badge">
              Partly restored ({b.restoredCount} of {b.targets.length})
            </span>
          ) : null}
        </p>
        <time className="text-xs text-zinc-500" dateTime={b.createdAt}>
          {formatTime(b.createdAt)}
        </time>
      </div>
      <p className="mt-1 font-mono text-xs text-zinc-500">Batch {b.batchId}</p>
      {b.restoresBatchId ? (
        <p className="mt-1 text-xs text-zinc-600">
          Undid the removal <span className="font-mono">{b.restoresBatchId}</span>
        </p>
      ) : null}
      {b.restoredBy.length > 0 ? (
        <p className="mt-1 text-xs text-zinc-600" data-testid="restored-by">
          Restored by <span className="font-mono">{b.restoredBy.join(", ")}</span>
        </p>
      ) : null}
      {b.restorableUntil ? (
        <div className="mt-2 flex flex-wrap items-center gap-3">
          {props.canRestore ? (
            <button type="button" className="btn-secondary py-1" onClick={props.onRestore}>
              Restore…
            </button>
          ) : null}
          <span className="text-xs text-zinc-500">
            Restorable until <time dateTime={b.restorableUntil}>{formatTime(b.restorableUntil)}</time>
          </span>
        </div>
      ) : b.eventType === MEMBERSHIP_DELETED && restored !== "all" ? (
        <p className="mt-1 text-xs text-zinc-500" data-testid="not-restorable">
          Can no longer be restored
        </p>
      ) : null}
      <details className="mt-2 text-sm">
        <summary className="cursor-pointer text-zinc-700">Members</summary>
        <ul className="mt-2 grid gap-1 sm:grid-cols-2">
          {b.targets.map((t) => (
            <li key={t.targetId ?? t.email} className="text-zinc-700">
              {t.email ?? t.targetId} {t.role ? <span className="text-xs text-zinc-500">({t.role})</span> : null}
            </li>
          ))}
        </ul>
      </details>
    </li>
  );
}
