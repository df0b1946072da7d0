/// <reference no-default-lib="true" />
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
/**
 * The message box: Enter sends, Shift+Enter starts a new line (one message
 * with line breaks), Enter that confirms an IME composition does neither,
 * Escape marks the conversation on screen read; it grows with its text up to
 * a limit, and says whom it writes to. The paperclip attaches files (a
 * hidden file input, several at once); disabled, it says why (a guest, a
 * server without files).
 *
 * Owns: the composer's keys, height, placeholder and attach button. What a
 * line does is page_commands.ts (through the page), what a file does
 * page_files.ts. Imports preact and the page's types.
 */
import { useRef } from "preact/hooks";
import type { ChatPage } from "../chat_page.ts";
import { visibleBidi } from "../../../wire/inert_text.ts";
import { channelTitle } from "../conversation_list.ts";

/** The element id the page focuses (and the skip link points at). */
export const composerId = "composer-input";
/** The tallest the box grows, in pixels, before it scrolls. */
const maxComposerPixels = 160;

/** `revision`: the page's; a new one redraws (the placeholder follows the conversation). */
export function Composer(
  { page, narrow }: { page: ChatPage; revision: number; narrow: boolean },
) {
  const input = useRef<HTMLTextAreaElement>(null);
  const picker = useRef<HTMLInputElement>(null);
  const fileProblem = page.files.sendProblem();
  const attachLabel = fileProblem === null ? "Attach files" : `Cannot attach files: ${fileProblem}`;
  const active = page.conversations.active;
  const keys = narrow ? "" : " (Enter sends, Shift+Enter new line)";
  // Search results are not written to: what is typed there goes to the room.
  const target = active.kind === "search" ? page.conversations.room : active;
  const placeholder = target.kind === "private"
    ? `Private message to ${visibleBidi(target.title)}${keys}`
    : `Message #${visibleBidi(channelTitle(target))}${keys}`;

  const resize = () => {
    const box = input.current;
    if (box === null) return;
    box.style.height = "auto";
    box.style.height = `${Math.min(box.scrollHeight + 2, maxComposerPixels)}px`;
  };
  const submit = () => {
    const box = input.current;
    if (box === null || box.value.trim() === "") return;
    if (page.submit(box.value)) {
      box.value = "";
      resize();
    }
  };
  return (
    <form
      id="composer"
      class="composer"
      onSubmit={(event) => {
        event.preventDefault();
        submit();
      }}
    >
      <button
        type="button"
        id="attach"
        class="attach"
        disabled={fileProblem !== null}
        title={attachLabel}
        aria-label={attachLabel}
        onClick={() => picker.current?.click()}
      >
        <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
          <path d="M16.5 6.5l-8 8a2 2 0 002.8 2.8l8.5-8.5a4 4 0 00-5.7-5.7L5.6 11.6a6 6 0 008.5 8.5l7.4-7.4" />
        </svg>
      </button>
      <input
        ref={picker}
        id="attach-input"
        type="file"
        multiple
        hidden
        onChange={() => {
          const chosen = picker.current;
          if (chosen === null) return;
          const files = [...(chosen.files ?? [])];
          chosen.value = ""; // The same file may be chosen again.
          page.files.sendFiles(files);
        }}
      />
      <label class="visually-hidden" for={composerId}>Message</label>
      <textarea
        ref={input}
        id={composerId}
        rows={1}
        placeholder={placeholder}
        enterkeyhint="send"
        autocomplete="off"
        disabled={page.status.value.state === "stopped"}
        onInput={resize}
        onKeyDown={(event) => {
          if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
            event.preventDefault();
            submit();
          } else if (event.key === "Escape" && !event.isComposing) {
            page.markActiveRead();
          }
        }}
      />
      <button type="submit" class="send">Send</button>
    </form>
  );
}
