/// <reference no-default-lib="true" />
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
/**
 * A message's text as the page shows it: lib/client/markup.ts's blocks
 * (paragraphs with their line breaks, fenced code) and inline parts (text,
 * `code`, *emphasis*, **strong**, links, mentions, :emoji:) drawn as DOM
 * nodes.
 *
 * Owns: how a body becomes nodes. Nothing from a sender is ever HTML: every
 * string goes in as a text node (JSX children, never innerHTML), with its
 * bidi controls made visible (lib/wire/inert_text.ts). A link opens in a new
 * tab without giving it this page (`rel="noopener noreferrer"`), and only an
 * http, https or mailto address becomes one (markup.ts promises it; checked
 * again here, where it matters). A mention of me (or of everyone) is marked.
 * Imports preact, lib/client/markup.ts and lib/wire/ (inert text, nickKey).
 */
import type { ComponentChildren } from "preact";
import { type Block, type Inline, type Marks, parseMarkup } from "../../../client/markup.ts";
import { visibleBidi } from "../../../wire/inert_text.ts";
import { nickKey } from "../../../wire/protocol.ts";

/** The only addresses a link may have. */
const safeHref = /^(?:https?:\/\/|mailto:)/i;

/** `node` inside <strong> and <em> as `marks` say. */
function marked(node: ComponentChildren, marks: Marks): ComponentChildren {
  const emphasised = marks.emphasis ? <em>{node}</em> : node;
  return marks.strong ? <strong>{emphasised}</strong> : emphasised;
}

function inlineNode(inline: Inline, myKey: string | null): ComponentChildren {
  switch (inline.type) {
    case "text":
      return marked(visibleBidi(inline.text), inline);
    case "code":
      return marked(<code>{visibleBidi(inline.text)}</code>, inline);
    case "emoji":
      return marked(<span class="emoji" title={`:${inline.name}:`}>{inline.emoji}</span>, inline);
    case "mention": {
      const mine = inline.nick === null || inline.nick === myKey;
      return marked(
        <span class={mine ? "mention-tag me" : "mention-tag"}>{visibleBidi(inline.text)}</span>,
        inline,
      );
    }
    case "link": {
      const children = inline.children.map((child) => inlineNode(child, myKey));
      if (!safeHref.test(inline.href)) return marked(children, inline);
      return marked(
        <a href={inline.href} target="_blank" rel="noopener noreferrer" title={inline.href}>
          {children}
        </a>,
        inline,
      );
    }
  }
}

function blockNode(block: Block, myKey: string | null): ComponentChildren {
  if (block.type === "code_block") {
    return (
      <pre class="code-block" data-lang={block.lang ?? undefined}>
        <code>{visibleBidi(block.text)}</code>
      </pre>
    );
  }
  // Line breaks stay text: the row keeps white space (pre-wrap), and the text reads as sent.
  return block.lines.flatMap((line, index) => [
    index === 0 ? null : "\n",
    ...line.map((inline) => inlineNode(inline, myKey)),
  ]);
}

/**
 * The body of a message as nodes; `me`: my nick (a mention of it is marked).
 *
 * @example
 * <span class="text">{renderBody("**done**, see https://ci.lan/42", "ana")}</span>
 */
export function renderBody(text: string, me: string | null): ComponentChildren {
  const myKey = me === null ? null : nickKey(me);
  const nodes: ComponentChildren[] = [];
  let previous: Block["type"] | null = null;
  for (const block of parseMarkup(text)) {
    // Paragraphs apart by a blank line; a code block is a block of its own.
    if (previous === "paragraph" && block.type === "paragraph") nodes.push("\n\n");
    nodes.push(blockNode(block, myKey));
    previous = block.type;
  }
  return nodes;
}
