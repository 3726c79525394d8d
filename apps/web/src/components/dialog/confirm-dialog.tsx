"use client";

import { type ReactNode, useEffect, useId, useRef } from "react";
import { RoleLabel } from "@/components/members/badges";

const ALERT = "rounded-lg border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800";

/**
 * The frame of a confirmation that previews before it acts (the remove and restore dialogs): a
 * modal <dialog> (focus stays inside, Escape closes) with a title, a description that names it,
 * what stops the action (the preview's blocker, the server's failure with its request id), what
 * the preview shows, a progress bar while the action runs, and Cancel and submit at the foot.
 * While the action runs it cannot be closed: Escape and Cancel do nothing.
 */
export function ConfirmDialog(props: {
  testId: string;
  title: ReactNode;
  /** A line between the title and the description. */
  subtitle?: ReactNode;
  description: ReactNode;
  /** The preview is on its way: the dialog is busy and a placeholder stands where it will show. */
  loading: boolean;
  /** The action is running. */
  busy: boolean;
  /** The progress bar's name while the action runs. */
  progressLabel: string;
  /** A destructive action: red progress and submit button. */
  danger?: boolean;
  /** Why the preview says the action cannot go ahead. */
  blocker: { message: string } | null | undefined;
  blockerTestId?: string;
  failure: { message: string; reqId: string | null } | null;
  failureTestId: string;
  /** What the preview shows, below the alerts. */
  children: ReactNode;
  /** Above the buttons: what the admin must do or choose before submitting. */
  footer: ReactNode;
  submitLabel: string;
  canSubmit: boolean;
  onSubmit: () => void;
  onClose: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const descId = useId();
  const { busy, blocker, failure, canSubmit, onSubmit, onClose } = props;

  useEffect(() => {
    ref.current?.showModal();
  }, []);

  function close() {
    if (busy) return;
    ref.current?.close();
    onClose();
  }

  function submit(e: React.FormEvent) {
    e.preventDefault();
    if (!canSubmit) return;
    onSubmit();
  }

  return (
    <dialog
      ref={ref}
      aria-labelledby={titleId}
      aria-describedby={descId}
      aria-busy={busy || props.loading}
      onCancel={(e) => {
        e.preventDefault();
        close();
      }}
      className="m-auto w-[min(36rem,calc(100vw-2rem))] rounded-xl p-0 shadow-2xl backdrop:bg-zinc-900/50"
      data-testid={props.testId}
    >
      <form onSubmit={submit} className="flex max-h-[85vh] flex-col">
        <div className="border-b border-zinc-200 px-5 py-4">
          <h2 id={titleId} className="text-lg font-semibold">
            {props.title}
          </h2>
          {props.subtitle}
          <p id={descId} className="mt-1 text-sm text-zinc-600">
            {props.description}
          </p>
        </div>

        <div className="min-h-0 flex-1 space-y-3 overflow-y-auto px-5 py-4">
          {blocker ? (
            <div className={ALERT} role="alert" data-testid={props.blockerTestId}>
              {blocker.message}
            </div>
          ) : null}
          {failure ? (
            <div className={ALERT} role="alert" data-testid={props.failureTestId}>
              <p>{failure.message}</p>
              {failure.reqId ? (
                <p className="mt-1 font-mono text-xs text-red-700">Request ID: {failure.reqId}</p>
              ) : null}
            </div>
          ) : null}
          {props.children}
          {props.loading ? <div className="h-24 animate-pulse rounded-lg bg-zinc-100" aria-hidden /> : null}
          {busy ? (
            <div
              role="progressbar"
              aria-label={props.progressLabel}
              className="h-1.5 overflow-hidden rounded bg-zinc-200"
            >
              <div
                className={`h-full w-1/3 animate-[progress_1.2s_ease-in-out_infinite] rounded ${props.danger ? "bg-red-600" : "bg-blue-600"}`}
              />
            </div>
          ) : null}
        </div>

        <div className="space-y-3 border-t border-zinc-200 px-5 py-4">
          {props.footer}
          <div className="flex justify-end gap-2">
            <button type="button" className="btn-secondary" onClick={close} disabled={busy}>
              Cancel
            </button>
            <button type="submit" className={props.danger ? "btn-danger" : "btn-primary"} disabled={!canSubmit}>
              {props.submitLabel}
            </button>
          </div>
        </div>
      </form>
    </dialog>
  );
}

/** The members a preview names, one row each: who (as `children` shows them) and their role. */
export function PreviewMembers<M extends { id: string; role: string }>(props: {
  label: string;
  members: M[];
  children: (member: M) => ReactNode;
}) {
  return (
    <ul className="divide-y divide-zinc-100 rounded-lg border border-zinc-200 text-sm" aria-label={props.label}>
      {props.members.map((m) => (
        <li key={m.id} className="flex items-center justify-between gap-3 px-3 py-2">
          {props.children(m)}
          <RoleLabel role={m.role} />
        </li>
      ))}
    </ul>
  );
}
