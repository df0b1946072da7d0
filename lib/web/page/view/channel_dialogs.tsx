/// <reference no-default-lib="true" />
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
/**
 * The channel windows (issue #15): joining or making a channel by name ("+"
 * beside Channels), setting a channel's topic, and "Browse channels"
 * (`/channels`): every channel with its topic, members and a Join button.
 *
 * Owns: one native <dialog> that shows whichever of them the page has open
 * (`ChatPage.dialog`), its markup and its keys (Escape closes). Refusals are
 * the server's words, said by the page. Imports preact and the page's types.
 */
import { useLayoutEffect, useRef } from "preact/hooks";
import type { ChatPage, PageDialog } from "../chat_page.ts";
import { visibleBidi } from "../../../wire/inert_text.ts";
import { channelKey } from "../../../client/conversations.ts";

function NameForm(
  { page, state }: { page: ChatPage; state: Extract<PageDialog, { kind: "join" | "topic" }> },
) {
  const join = state.kind === "join";
  return (
    <form
      id="channel-form"
      onSubmit={(event) => {
        event.preventDefault();
        const field = (event.currentTarget as HTMLFormElement).elements.namedItem("value");
        const value = field instanceof HTMLInputElement ? field.value : "";
        void (join ? page.joinFromDialog(value) : page.topicFromDialog(value));
      }}
    >
      <h2 id="channel-dialog-title">
        {join ? "Join or create a channel" : `Topic of ${visibleBidi(state.name)}`}
      </h2>
      <label for="channel-input">{join ? "Channel name" : "Topic"}</label>
      <input
        id="channel-input"
        name="value"
        autocomplete="off"
        spellcheck={!join}
        maxlength={join ? 40 : 256}
        placeholder={join ? "#ops" : "What this channel is about"}
      />
      <p class="hint">
        {join
          ? "1 to 32 letters, digits, - or _. A channel that does not exist yet is made, and anyone can join it."
          : "Everyone in the channel sees it at the top. Leave it empty to clear it."}
      </p>
      <p id="channel-error" class="error" role="alert">{state.problem ?? ""}</p>
      <div class="dialog-buttons">
        <button type="submit" class="send" disabled={state.busy}>
          {join ? "Join" : "Set topic"}
        </button>
        <button type="button" class="secondary" onClick={() => page.closeDialog()}>Cancel</button>
      </div>
    </form>
  );
}

function Browser(
  { page, state }: { page: ChatPage; state: Extract<PageDialog, { kind: "channels" }> },
) {
  return (
    <>
      <h2 id="channel-dialog-title">Channels</h2>
      {state.channels === null ? <p class="hint">Asking the server…</p> : null}
      <p id="channel-error" class="error" role="alert">{state.problem ?? ""}</p>
      <ul id="channel-browser" class="channel-browser">
        {(state.channels ?? []).map((channel) => {
          const joined = page.conversations.find(channelKey(channel.name)) !== undefined;
          return (
            <li key={channel.name} class="channel-row" data-name={channel.name}>
              <span class="channel-row-name">{visibleBidi(channel.name)}</span>
              <span class="channel-row-members">
                {channel.members} member{channel.members === 1 ? "" : "s"}
              </span>
              <span class="channel-row-topic">{visibleBidi(channel.topic)}</span>
              <button
                type="button"
                class={joined ? "secondary" : "send"}
                onClick={() => {
                  page.closeDialog();
                  void page.joinChannel(channel.name);
                }}
              >
                {joined ? "Open" : "Join"}
              </button>
            </li>
          );
        })}
      </ul>
      <div class="dialog-buttons">
        <button
          type="button"
          class="secondary"
          onClick={() => page.dialog.value = { kind: "join", problem: null, busy: false }}
        >
          New channel
        </button>
        <button type="button" class="send" onClick={() => page.closeDialog()}>Close</button>
      </div>
    </>
  );
}

export function ChannelDialog({ page }: { page: ChatPage }) {
  const state = page.dialog.value;
  const dialog = useRef<HTMLDialogElement>(null);
  const shownKind = useRef<string | null>(null);

  useLayoutEffect(() => {
    const element = dialog.current;
    if (element === null) return;
    if (state === null) {
      if (element.open) element.close();
      shownKind.current = null;
      return;
    }
    if (!element.open) element.showModal();
    if (shownKind.current !== state.kind) {
      shownKind.current = state.kind;
      const input = element.querySelector<HTMLInputElement>("#channel-input");
      if (input !== null) {
        input.value = state.kind === "topic" ? state.topic : "";
        input.focus();
        input.select();
      }
    }
  }, [state]);

  return (
    <dialog
      ref={dialog}
      id="channel-dialog"
      class="nick-dialog channel-dialog"
      aria-labelledby="channel-dialog-title"
      onClose={() => page.closeDialog()}
    >
      {state === null
        ? null
        : state.kind === "channels"
        ? <Browser page={page} state={state} />
        : <NameForm page={page} state={state} />}
    </dialog>
  );
}
