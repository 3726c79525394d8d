"use client";

import { useEffect, useId, useRef, useState } from "react";
import { DismissButton, ToastFrame } from "./toast";

/** How long the toast after a removal offers to undo it (the Audit page offers it for days). */
export const UNDO_SECONDS = 30;

const secondsLeft = (until: number) => Math.max(0, Math.ceil((until - Date.now()) / 1000));

/**
 * The toast after a removal: what went, and an Undo button with the seconds left to press it.
 * Focus moves to Undo when the removal left it nowhere (the dialog and the button that opened it
 * are gone), so a keyboard user can undo with Enter; the countdown is shown, not read aloud.
 */
export function UndoToast(props: {
  text: string;
  /** Date.now() at which the offer ends. */
  until: number;
  busy: boolean;
  onUndo: () => void;
  onExpire: () => void;
  onDismiss: () => void;
}) {
  const { until, busy, onExpire } = props;
  const [left, setLeft] = useState(() => secondsLeft(until));
  const undoRef = useRef<HTMLButtonElement>(null);
  const hintId = useId();

  useEffect(() => {
    const tick = setInterval(() => setLeft(secondsLeft(until)), 250);
    return () => clearInterval(tick);
  }, [until]);
  // An undo already sent finishes whatever the clock says: the server's window is days long.
  useEffect(() => {
    if (left === 0 && !busy) onExpire();
  }, [left, busy, onExpire]);
  useEffect(() => {
    const focused = document.activeElement;
    if (!focused || focused === document.body) undoRef.current?.focus();
  }, []);

  return (
    <ToastFrame>
      <div
        role="status"
        data-testid="undo-toast"
        className="pointer-events-auto relative flex items-center gap-3 overflow-hidden rounded-lg bg-zinc-900 px-4 py-3 text-sm text-white shadow-lg"
      >
        <span>{props.text}</span>
        <span id={hintId} className="sr-only">
          Undo is offered for {UNDO_SECONDS} seconds; the Audit page can restore it later.
        </span>
        <button
          ref={undoRef}
          type="button"
          className="rounded-md bg-white/10 px-2.5 py-1 font-medium text-white hover:bg-white/20 disabled:opacity-60"
          aria-describedby={hintId}
          disabled={busy}
          onClick={props.onUndo}
        >
          {busy ? "Undoing…" : "Undo"}
        </button>
        {busy ? null : (
          <span className="w-8 text-right tabular-nums text-zinc-300" aria-hidden data-testid="undo-countdown">
            {left}s
          </span>
        )}
        <DismissButton onClick={props.onDismiss} />
        {/* The time left as a bar (an animation of UNDO_SECONDS: no inline style, which the CSP refuses). */}
        <span
          aria-hidden
          className="absolute inset-x-0 bottom-0 h-0.5 origin-left animate-[undo-countdown_30s_linear_forwards] bg-blue-400"
        />
      </div>
    </ToastFrame>
  );
}
