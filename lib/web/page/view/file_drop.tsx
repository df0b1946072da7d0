/// <reference no-default-lib="true" />
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
/**
 * Files dropped on the conversation or pasted (a screenshot from the
 * clipboard) go to it, as if attached: while files are dragged over it, a
 * drop zone says where they go (or why they cannot). Files dropped beside
 * it are refused, so the browser does not leave the chat to open them.
 *
 * Owns: the drag counting, the drop zone's markup and the paste handler.
 * Sending is page_files.ts's. Imports preact and the page's types.
 */
import { useEffect, useState } from "preact/hooks";
import type { ChatPage } from "../chat_page.ts";
import { conversationTitle } from "./conversation_view.tsx";

function carriesFiles(event: DragEvent): boolean {
  return event.dataTransfer?.types.includes("Files") ?? false;
}

/** The handlers to spread on the conversation's element, and whether files are over it. */
export function useFileDrop(page: ChatPage) {
  // Entering a child before leaving its parent: a count, not a flag, says when the drag left.
  const [depth, setDepth] = useState(0);
  useEffect(() => {
    // Not handled by the conversation (it prevents the default first): no drop, no navigation.
    const refuse = (event: DragEvent) => {
      if (!carriesFiles(event) || event.defaultPrevented) return;
      event.preventDefault();
      event.dataTransfer!.dropEffect = "none";
    };
    addEventListener("dragover", refuse);
    addEventListener("drop", refuse);
    return () => {
      removeEventListener("dragover", refuse);
      removeEventListener("drop", refuse);
    };
  }, []);
  const handlers = {
    onDragEnter(event: DragEvent) {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      setDepth((count) => count + 1);
    },
    onDragLeave(event: DragEvent) {
      if (carriesFiles(event)) setDepth((count) => Math.max(0, count - 1));
    },
    onDragOver(event: DragEvent) {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      event.dataTransfer!.dropEffect = "copy";
    },
    onDrop(event: DragEvent) {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      setDepth(0);
      page.files.sendFiles([...event.dataTransfer!.files]);
    },
    onPaste(event: ClipboardEvent) {
      const files = [...(event.clipboardData?.files ?? [])];
      if (files.length === 0) return; // Text is pasted as text.
      event.preventDefault();
      page.files.sendFiles(files);
    },
  };
  return { dragging: depth > 0, handlers };
}

/** Over the conversation while files are dragged: where they go, or why they cannot. */
export function DropZone({ page }: { page: ChatPage }) {
  const problem = page.files.sendProblem();
  const active = page.conversations.active;
  const target = active.kind === "search" ? page.conversations.room : active;
  return (
    <div id="drop-zone" class={`drop-zone${problem === null ? "" : " refused"}`}>
      <p>
        {problem === null
          ? `Drop to send to ${conversationTitle(target)}`
          : `Cannot send files: ${problem}`}
      </p>
    </div>
  );
}
