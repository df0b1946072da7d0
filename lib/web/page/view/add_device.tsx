/// <reference no-default-lib="true" />
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
/**
 * "Add a device": the one-time code the server gave for my account
 * (PROTOCOL.md 8.5), shown big, with the time it has left counting down and
 * how to use it on the other device; then that the device was added, or why
 * there is no code. Escape or "Close" closes it (the code stays good until it
 * expires or is used).
 *
 * Owns: the dialog's markup and its one-second countdown. Imports preact,
 * the page's types and lib/wire/protocol.ts (how a code is shown).
 */
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import type { ChatPage, LinkCodeState } from "../chat_page.ts";
import { formatLinkCode } from "../../../wire/protocol.ts";

/** "9:58": minutes and seconds left until `expires`. */
export function timeLeft(expires: number, now: number): string {
  const seconds = Math.max(0, Math.ceil((expires - now) / 1000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
}

function Body({ page, state, now }: { page: ChatPage; state: LinkCodeState; now: number }) {
  switch (state.state) {
    case "asking":
      return <p class="hint">Asking the server for a code…</p>;
    case "refused":
      return <p id="link-error" class="error" role="alert">{state.problem}</p>;
    case "used":
      return (
        <p id="link-used" class="link-used" role="status">
          A device was added to your account: <code>{state.fingerprint}</code>
        </p>
      );
    case "shown": {
      const code = formatLinkCode(state.code);
      const expired = state.expires <= now;
      return (
        <>
          <p>On your other device, open this page and choose “I have a code”, then type:</p>
          <p id="link-code" class={`link-code${expired ? " expired" : ""}`}>
            {code}
          </p>
          <p
            id="link-expires"
            class={expired ? "error" : "hint"}
            role={expired ? "alert" : undefined}
          >
            {expired
              ? "This code has expired. Ask for a new one."
              : `Works once, for ${timeLeft(state.expires, now)} more.`}
          </p>
          <p class="hint">
            From a terminal: <code>{page.linkCommand(code)}</code>
          </p>
          <p class="hint">
            Only type it on your own device: whoever uses it joins as you.
          </p>
          {expired
            ? (
              <button type="button" class="secondary" onClick={() => page.openAddDevice()}>
                New code
              </button>
            )
            : null}
        </>
      );
    }
  }
}

export function AddDevice({ page }: { page: ChatPage }) {
  const state = page.linkCode.value;
  const dialog = useRef<HTMLDialogElement>(null);
  const [now, setNow] = useState(Date.now());

  useLayoutEffect(() => {
    const element = dialog.current;
    if (element === null) return;
    if (state === null && element.open) element.close();
    if (state !== null && !element.open) element.showModal();
  }, [state]);
  useEffect(() => {
    if (state?.state !== "shown") return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [state]);

  return (
    <dialog
      ref={dialog}
      id="link-dialog"
      class="nick-dialog link-dialog"
      aria-labelledby="link-title"
      onClose={() => page.closeLinkCode()}
    >
      <h2 id="link-title">Add a device</h2>
      {state === null ? null : <Body page={page} state={state} now={now} />}
      <div class="dialog-buttons">
        {state?.state === "refused"
          ? (
            <button type="button" class="secondary" onClick={() => page.openAddDevice()}>
              Try again
            </button>
          )
          : null}
        <button id="link-close" type="button" class="send" onClick={() => page.closeLinkCode()}>
          {state?.state === "used" ? "Done" : "Close"}
        </button>
      </div>
    </dialog>
  );
}
