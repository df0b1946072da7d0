/// <reference no-default-lib="true" />
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
/**
 * The sidebar: "Jump to…" (the quick switcher), then "Channels" (with "+"
 * to join or make one, and "Browse channels") and "Direct messages", one
 * entry per conversation with its unread count and its mentions; the entry
 * on screen is marked; at the bottom, "Turn on notifications" when the
 * browser has not been asked yet. Beside the chat on a wide screen,
 * a drawer on a phone (opened from the top bar).
 *
 * Owns: the sidebar's markup, Up/Down between its entries, and the drawer's
 * Escape. Takes plain {@link ConversationItem}s and callbacks, nothing of the
 * client core, so channels from the server (issue #15) are more items, not a
 * new view. Imports preact and conversation_list.ts's types.
 */
import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";
import type { ConversationItem } from "../conversation_list.ts";
import { visibleBidi } from "../../../wire/inert_text.ts";

export interface SidebarProps {
  items: readonly ConversationItem[];
  /** The person chose an entry. */
  onOpen(item: ConversationItem): void;
  /** "Close" on a direct message's entry. */
  onClose(item: ConversationItem): void;
  /** "Jump to…": the quick switcher. */
  onJump(): void;
  /** The shortcut that opens the switcher, as this keyboard writes it ("Ctrl+K", "⌘K"). */
  jumpKeys: string;
  /** The drawer is open (phones). */
  open: boolean;
  /** Closes the drawer. */
  onDismiss(): void;
  /** "+" beside Channels: join or make one. */
  onAddChannel(): void;
  /** "Browse channels". */
  onBrowseChannels(): void;
  /** Below the lists (the notifications button). */
  footer?: ComponentChildren;
}

/** "99+" past 99. */
export function countText(count: number): string {
  return count > 99 ? "99+" : String(count);
}

/** What a screen reader hears for an entry: "#office-pc, 3 unread, 1 mention". */
function entryLabel(item: ConversationItem): string {
  const parts = [item.kind === "channel" ? `#${item.title}` : item.title];
  if (item.kind === "direct") parts.push(item.online ? "online" : "offline");
  if (item.unread > 0) parts.push(`${item.unread} unread`);
  // Every direct message is a mention (as the server counts): its badge alone says it.
  if (item.mentions > 0 && item.kind === "channel") {
    parts.push(`${item.mentions} mention${item.mentions === 1 ? "" : "s"}`);
  }
  return parts.join(", ");
}

function Entry(
  { item, onOpen, onClose }: {
    item: ConversationItem;
    onOpen(item: ConversationItem): void;
    onClose(item: ConversationItem): void;
  },
) {
  const title = visibleBidi(item.title);
  const classes = ["conversation-item", item.kind];
  if (item.active) classes.push("active");
  if (item.unread > 0) classes.push("unread");
  return (
    <li class={classes.join(" ")} data-key={item.key}>
      <button
        type="button"
        class="conversation"
        aria-current={item.active ? "page" : undefined}
        aria-label={visibleBidi(entryLabel(item))}
        onClick={() => onOpen(item)}
      >
        {item.kind === "channel"
          ? <span class="sigil" aria-hidden="true">#</span>
          : <span class={`sigil presence${item.online ? " online" : ""}`} aria-hidden="true" />}
        <span class="conversation-title">{title}</span>
        {item.mentions > 0 && item.kind === "channel"
          ? <span class="mention-badge" aria-hidden="true">@{countText(item.mentions)}</span>
          : null}
        {item.unread > 0
          ? (
            <span class={`badge${item.kind === "direct" ? " strong" : ""}`} aria-hidden="true">
              {countText(item.unread)}
            </span>
          )
          : null}
      </button>
      {item.kind === "direct"
        ? (
          <button
            type="button"
            class="conversation-remove"
            aria-label={`Close the conversation with ${title}`}
            title="Close"
            onClick={() => onClose(item)}
          >
            ×
          </button>
        )
        : null}
    </li>
  );
}

function Section(
  { id, heading, items, empty, add, ...actions }: {
    id: string;
    heading: string;
    items: readonly ConversationItem[];
    empty: string;
    /** A "+" beside the heading. */
    add?: { id: string; label: string; onClick(): void };
    onOpen(item: ConversationItem): void;
    onClose(item: ConversationItem): void;
  },
) {
  return (
    <section class="sidebar-section" aria-labelledby={`${id}-heading`}>
      <div class="sidebar-heading-row">
        <h2 id={`${id}-heading`} class="sidebar-heading">{heading}</h2>
        {add === undefined ? null : (
          <button
            type="button"
            id={add.id}
            class="sidebar-add"
            aria-label={add.label}
            title={add.label}
            onClick={add.onClick}
          >
            +
          </button>
        )}
      </div>
      {items.length === 0
        ? <p class="sidebar-empty">{empty}</p>
        : (
          <ul id={id} class="conversation-list">
            {items.map((item) => <Entry key={item.key} item={item} {...actions} />)}
          </ul>
        )}
    </section>
  );
}

export function Sidebar(
  {
    items,
    onOpen,
    onClose,
    onJump,
    jumpKeys,
    open,
    onDismiss,
    onAddChannel,
    onBrowseChannels,
    footer,
  }: SidebarProps,
) {
  const nav = useRef<HTMLElement>(null);

  useEffect(() => {
    document.body.classList.toggle("sidebar-open", open);
    const entries = nav.current;
    if (open && entries !== null) {
      // The entry on screen, else the first.
      (entries.querySelector<HTMLElement>("[aria-current=page]") ??
        entries.querySelector<HTMLElement>(".conversation"))?.focus();
    }
  }, [open]);
  useEffect(() => {
    if (!open) return;
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "Escape") {
        onDismiss();
        document.getElementById("sidebar-toggle")?.focus();
      }
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [open, onDismiss]);

  /** Up and Down move along the entries. */
  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
    const entries = [...(nav.current?.querySelectorAll<HTMLElement>(".conversation") ?? [])];
    const index = entries.indexOf(document.activeElement as HTMLElement);
    if (index === -1) return;
    event.preventDefault();
    const step = event.key === "ArrowDown" ? 1 : entries.length - 1;
    entries[(index + step) % entries.length]?.focus();
  };

  const actions = { onOpen, onClose };
  return (
    <nav ref={nav} id="sidebar" class="sidebar" aria-label="Conversations" onKeyDown={onKeyDown}>
      <div class="sidebar-top">
        <button id="jump-button" type="button" class="jump" onClick={onJump}>
          <span>Jump to…</span>
          <kbd>{jumpKeys}</kbd>
        </button>
        <button id="sidebar-close" type="button" class="drawer-close" onClick={onDismiss}>
          Close
        </button>
      </div>
      <Section
        id="channel-list"
        heading="Channels"
        items={items.filter((item) =>
          item.kind === "channel"
        )}
        empty="No channels yet."
        add={{ id: "channel-add", label: "Join or create a channel", onClick: onAddChannel }}
        {...actions}
      />
      <button id="browse-channels" type="button" class="sidebar-link" onClick={onBrowseChannels}>
        Browse channels
      </button>
      <Section
        id="direct-list"
        heading="Direct messages"
        items={items.filter((item) =>
          item.kind === "direct"
        )}
        empty="Double-click (or tap) a name under Online to write to that person alone."
        {...actions}
      />
      {footer}
    </nav>
  );
}

/** The top bar's button that opens the sidebar on a phone, with the unread count of the others. */
export function SidebarToggle(
  { open, unread, onToggle }: { open: boolean; unread: number; onToggle(): void },
) {
  return (
    <button
      id="sidebar-toggle"
      class="sidebar-toggle"
      type="button"
      aria-controls="sidebar"
      aria-expanded={open ? "true" : "false"}
      aria-label={unread > 0 ? `Conversations, ${unread} unread` : "Conversations"}
      onClick={onToggle}
    >
      <span class="burger" aria-hidden="true">☰</span>
      {unread > 0 ? <span class="badge" aria-hidden="true">{countText(unread)}</span> : null}
    </button>
  );
}
