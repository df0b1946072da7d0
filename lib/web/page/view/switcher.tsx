/// <reference no-default-lib="true" />
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
/**
 * The quick switcher (Ctrl+K, ⌘K on a Mac, or "Jump to…"): type a few
 * letters of a channel or a person, Up and Down to choose, Enter to go
 * there, Escape to close. People online without a conversation yet are
 * choices too (choosing one opens it).
 *
 * Owns: the dialog (a native <dialog>, a combobox over a listbox) and its
 * keys. What matches is conversation_list.ts. Imports preact and
 * conversation_list.ts.
 */
import { useLayoutEffect, useRef, useState } from "preact/hooks";
import { type ConversationItem, filterChoices } from "../conversation_list.ts";
import { visibleBidi } from "../../../wire/inert_text.ts";
import { countText } from "./sidebar.tsx";

export interface SwitcherProps {
  open: boolean;
  /** Every choice, in the sidebar's order (conversation_list.ts `switcherChoices`). */
  choices: readonly ConversationItem[];
  onChoose(item: ConversationItem): void;
  onDismiss(): void;
}

export function QuickSwitcher({ open, choices, onChoose, onDismiss }: SwitcherProps) {
  const dialog = useRef<HTMLDialogElement>(null);
  const input = useRef<HTMLInputElement>(null);
  const [query, setQuery] = useState("");
  const [selected, setSelected] = useState(0);
  const matches = filterChoices(choices, query);
  const current = Math.min(selected, Math.max(0, matches.length - 1));

  useLayoutEffect(() => {
    const element = dialog.current;
    if (element === null) return;
    if (open && !element.open) {
      setQuery("");
      setSelected(0);
      if (input.current !== null) input.current.value = "";
      element.showModal();
      input.current?.focus();
    } else if (!open && element.open) {
      element.close();
    }
  }, [open]);

  const choose = (item: ConversationItem | undefined) => {
    if (item === undefined) return;
    dialog.current?.close();
    onChoose(item);
  };
  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      setSelected((current + step + matches.length) % Math.max(1, matches.length));
    } else if (event.key === "Enter" && !event.isComposing) {
      event.preventDefault();
      choose(matches[current]);
    }
  };

  return (
    <dialog
      ref={dialog}
      id="switcher"
      class="switcher"
      aria-label="Jump to a conversation"
      onClose={onDismiss}
      onClick={(event) => {
        // A click on the backdrop (the dialog itself, outside its box) closes it.
        if (event.target === event.currentTarget) event.currentTarget.close();
      }}
    >
      <div class="switcher-box">
        <input
          ref={input}
          id="switcher-input"
          type="text"
          role="combobox"
          aria-expanded="true"
          aria-controls="switcher-list"
          aria-activedescendant={matches.length === 0 ? undefined : `switcher-option-${current}`}
          aria-label="Jump to a channel or a person"
          placeholder="Jump to a channel or a person"
          autocomplete="off"
          spellcheck={false}
          onInput={(event) => {
            setQuery((event.currentTarget as HTMLInputElement).value);
            setSelected(0);
          }}
          onKeyDown={onKeyDown}
        />
        <ul id="switcher-list" class="switcher-list" role="listbox" aria-label="Conversations">
          {matches.map((item, index) => (
            <li
              key={`${item.kind}:${item.title}`}
              id={`switcher-option-${index}`}
              role="option"
              aria-selected={index === current ? "true" : "false"}
              class={`switcher-option ${item.kind}`}
              onClick={() => choose(item)}
              onMouseMove={() => index !== current && setSelected(index)}
            >
              {item.kind === "channel" ? <span class="sigil" aria-hidden="true">#</span> : (
                <span
                  class={`sigil presence${item.online ? " online" : ""}`}
                  aria-hidden="true"
                />
              )}
              <span class="conversation-title">{visibleBidi(item.title)}</span>
              {item.key === "" ? <span class="switcher-note">new conversation</span> : null}
              {item.active ? <span class="switcher-note">on screen</span> : null}
              {item.unread > 0 ? <span class="badge">{countText(item.unread)}</span> : null}
            </li>
          ))}
        </ul>
        {matches.length === 0 ? <p class="switcher-empty">Nothing matches “{query}”.</p> : null}
        <p class="switcher-hint">
          <kbd>↑</kbd> <kbd>↓</kbd> to choose · <kbd>Enter</kbd> to go · <kbd>Esc</kbd> to close
        </p>
      </div>
    </dialog>
  );
}
