"use client";

import Link from "next/link";
import { type ReactNode, useEffect } from "react";

/** A short message at the bottom of the screen; a failure carries the server's request id. */
export interface Notice {
  text: string;
  /** A failure: announced as an alert, and kept until dismissed so its request id can be copied. */
  error?: boolean;
  reqId?: string | null;
  link?: { href: string; label: string };
}

const SHOWN_MS = 6000;

/** Where every toast sits, one at a time. */
export function ToastFrame({ children }: { children: ReactNode }) {
  return (
    <div aria-live="polite" className="pointer-events-none fixed inset-x-0 bottom-4 z-50 flex justify-center px-4">
      {children}
    </div>
  );
}

export function DismissButton({ onClick }: { onClick: () => void }) {
  return (
    <button type="button" className="px-1 text-zinc-300 hover:text-white" onClick={onClick} aria-label="Dismiss">
      ✕
    </button>
  );
}

export function Toast({ notice, onDone }: { notice: Notice | null; onDone: () => void }) {
  useEffect(() => {
    if (!notice || notice.error) return;
    const t = setTimeout(onDone, SHOWN_MS);
    return () => clearTimeout(t);
  }, [notice, onDone]);
  return (
    <ToastFrame>
      {notice ? (
        <div
          role={notice.error ? "alert" : "status"}
          data-testid={notice.error ? "toast-error" : "toast"}
          className={`pointer-events-auto flex max-w-xl items-start gap-3 rounded-lg px-4 py-3 text-sm text-white shadow-lg ${
            notice.error ? "bg-red-800" : "bg-zinc-900"
          }`}
        >
          <span className="min-w-0">
            <span className="block">{notice.text}</span>
            {notice.reqId ? (
              <span className="mt-1 block font-mono text-xs text-red-100">Request ID: {notice.reqId}</span>
            ) : null}
            {notice.link ? (
              <Link href={notice.link.href} className="mt-1 block underline underline-offset-2">
                {notice.link.label}
              </Link>
            ) : null}
          </span>
          <DismissButton onClick={onDone} />
        </div>
      ) : null}
    </ToastFrame>
  );
}
