/// <reference no-default-lib="true" />
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
/**
 * The modal questions: the room password (asked first: nothing else can
 * happen without it), the nick, and instead of the nick a code from another
 * device of the person's account ("I have a code", PROTOCOL.md 8.5). Escape
 * does not dismiss any while it waits for an answer: without it there is no
 * chat.
 *
 * Owns: opening and closing the native <dialog>s as the page's prompts
 * come and go, keeping what was typed while a prompt is hidden, and the
 * dialogs' markup. Imports preact and the page's types.
 */
import type { ComponentChildren } from "preact";
import { useLayoutEffect, useRef } from "preact/hooks";
import type { ChatPage, Prompt } from "../chat_page.ts";

interface PromptDialogProps {
  /** The ids' stem: `NAME-dialog`, `NAME-form`, `NAME-input`, `NAME-error`, `NAME-title`. */
  name: "nick" | "password" | "code";
  prompt: Prompt | null;
  title: ComponentChildren;
  label: ComponentChildren;
  hint: string;
  button: string;
  input: Record<string, string | number | boolean>;
  /** A second way out of the question (`NAME-other`): "I have a code", "Back". */
  other?: { label: string; onClick(): void };
}

function PromptDialog(
  { name, prompt, title, label, hint, button, input, other }: PromptDialogProps,
) {
  const dialog = useRef<HTMLDialogElement>(null);
  const field = useRef<HTMLInputElement>(null);
  const shown = useRef<Prompt | null>(null);

  // Before the next paint and before any later network event: a closed prompt gives the focus back.
  useLayoutEffect(() => {
    const element = dialog.current;
    const box = field.current;
    if (element === null || box === null) return;
    if (prompt === null) {
      if (element.open) element.close();
      shown.current = null;
      return;
    }
    if (shown.current !== prompt) {
      // A new question (or the same one asked again, with why): its text, selected.
      if (shown.current === null || prompt.initial !== shown.current.initial) {
        box.value = prompt.initial;
      }
      shown.current = prompt;
    }
    if (!element.open) element.showModal();
    box.focus();
    box.select();
  }, [prompt]);

  return (
    <dialog
      ref={dialog}
      id={`${name}-dialog`}
      class="nick-dialog"
      aria-labelledby={`${name}-title`}
      onCancel={(event) => {
        if (prompt !== null) event.preventDefault();
      }}
    >
      <form
        id={`${name}-form`}
        onSubmit={(event) => {
          event.preventDefault();
          if (prompt === null) return;
          prompt.answer(field.current?.value ?? "");
          // Closed now, not at the next render: the focus is back where it was before any
          // answer from the server (joined: the composer takes it) can arrive.
          const element = dialog.current;
          if (!prompt.answered || element === null || !element.open) return;
          element.close();
          // The browser moves the focus out of a closed dialog only later: now, so that
          // nothing still seems to hold it when the composer asks.
          const focused = document.activeElement;
          if (focused instanceof HTMLElement && element.contains(focused)) focused.blur();
        }}
      >
        <h2 id={`${name}-title`}>{title}</h2>
        <label for={`${name}-input`}>{label}</label>
        <input
          ref={field}
          id={`${name}-input`}
          onInput={(event) => {
            // Kept while the prompt is hidden behind the password's.
            if (prompt !== null) prompt.initial = (event.currentTarget as HTMLInputElement).value;
          }}
          {...input}
        />
        <p class="hint">{hint}</p>
        <p id={`${name}-error`} class="error" role="alert">{prompt?.problem ?? ""}</p>
        <div class="dialog-buttons">
          <button type="submit" class="send">{button}</button>
          {other === undefined
            ? null
            : (
              <button id={`${name}-other`} type="button" class="secondary" onClick={other.onClick}>
                {other.label}
              </button>
            )}
        </div>
      </form>
    </dialog>
  );
}

export function NickPrompt({ page }: { page: ChatPage }) {
  const room = page.roomName.value;
  return (
    <PromptDialog
      name="nick"
      prompt={page.nickPrompt.value}
      title={
        <>
          Join <span id="nick-room">{room || "the room"}</span>
        </>
      }
      label="Your nick"
      hint="1 to 32 letters, digits, _ - or . Others see it next to your messages."
      button="Join"
      input={{
        autocomplete: "nickname",
        autocapitalize: "off",
        spellcheck: false,
        maxlength: 64,
      }}
      other={{ label: "I have a code", onClick: () => page.offerCode() }}
    />
  );
}

/** "I have a code": joining as the account of another device, with the code it showed. */
export function CodePrompt({ page }: { page: ChatPage }) {
  return (
    <PromptDialog
      name="code"
      prompt={page.codePrompt.value}
      title="Join with a code"
      label="Code from your other device"
      hint="On a device where you are already in, choose “Add a device” on this page (or type /link in lanchat join). Its code works once, for 10 minutes, and makes this browser one of your devices."
      button="Join"
      input={{
        autocomplete: "one-time-code",
        autocapitalize: "characters",
        spellcheck: false,
        maxlength: 24,
        placeholder: "K7QM-3XPA",
      }}
      other={{ label: "Back", onClick: () => page.backToNick() }}
    />
  );
}

export function PasswordPrompt({ page }: { page: ChatPage }) {
  const room = page.roomName.value;
  return (
    <PromptDialog
      name="password"
      prompt={page.passwordPrompt.value}
      title="Room password"
      label={
        <>
          The room “<span id="password-room">{room || "lanchat"}</span>” needs its password
        </>
      }
      hint="Ask whoever runs the room. It never leaves this page: it only proves you know it, and encrypts the chat."
      button={page.deriving.value ? "Checking…" : "Enter"}
      input={{ type: "password", autocomplete: "current-password" }}
    />
  );
}
