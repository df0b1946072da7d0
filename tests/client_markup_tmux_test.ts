/**
 * Formatted messages at a real terminal (issue #15, item 5): the CLI runs in
 * tmux, a raw protocol client writes links, code, emphasis, strong, emoji
 * and mentions, and the pane is read with `tmux capture-pane -e`, which keeps
 * the SGR attributes of every cell: links underlined, code dim, strong bold,
 * emphasis italic, the mention of me highlighted (bold and bright yellow,
 * bold only under NO_COLOR), hostile text inert. Skipped when tmux is not
 * installed; the final screens go to test-output/tmux/.
 */
import { assert, assertEquals } from "./_assert.ts";
import { startServer } from "../lib/server/server.ts";
import { RawClient } from "./fixtures/client_raw.ts";
import { hasTmux, joinCommand, type Pane, Tmux } from "./fixtures/client_tmux.ts";

/** The attributes a cell is drawn with. */
interface Cell {
  character: string;
  bold: boolean;
  dim: boolean;
  italic: boolean;
  underline: boolean;
  /** The SGR foreground colour code (30-37, 90-97), or null for the default. */
  color: number | null;
}

/** Reads `tmux capture-pane -e` output: each character with the SGR attributes in force. */
function cells(line: string): Cell[] {
  const out: Cell[] = [];
  let state: Omit<Cell, "character"> = {
    bold: false,
    dim: false,
    italic: false,
    underline: false,
    color: null,
  };
  const reset = { ...state };
  // deno-lint-ignore no-control-regex
  for (const part of line.split(/(\x1b\[[\d;]*m)/)) {
    // deno-lint-ignore no-control-regex
    const sgr = /^\x1b\[([\d;]*)m$/.exec(part);
    if (sgr === null) {
      for (const character of part) out.push({ character, ...state });
      continue;
    }
    for (const code of (sgr[1] === "" ? "0" : sgr[1]!).split(";").map(Number)) {
      if (code === 0) state = { ...reset };
      else if (code === 1) state.bold = true;
      else if (code === 2) state.dim = true;
      else if (code === 3) state.italic = true;
      else if (code === 4) state.underline = true;
      else if (code === 22) state.bold = state.dim = false;
      else if (code === 23) state.italic = false;
      else if (code === 24) state.underline = false;
      else if (code === 39) state.color = null;
      else if ((code >= 30 && code <= 37) || (code >= 90 && code <= 97)) state.color = code;
    }
  }
  return out;
}

/** The attributes of `text` in `row`, which must be the same on all its characters. */
function styleOf(row: Cell[], text: string): Omit<Cell, "character"> {
  const plain = row.map((cell) => cell.character).join("");
  const at = plain.indexOf(text);
  assert(at !== -1, `${JSON.stringify(text)} not in ${JSON.stringify(plain)}`);
  const characters = [...plain.slice(0, at)].length;
  const span = row.slice(characters, characters + [...text].length);
  const { character: _, ...first } = span[0]!;
  for (const cell of span) {
    const { character: __, ...style } = cell;
    assertEquals(style, first, `${JSON.stringify(text)} is not drawn in one style`);
  }
  return first;
}

async function messageRow(pane: Pane, tmux: Tmux, marker: string): Promise<Cell[]> {
  const screen = await tmux.run("capture-pane", "-e", "-p", "-t", pane.name);
  const line = screen.split("\n").find((each) => each.includes(marker));
  assert(line !== undefined, screen);
  return cells(line);
}

const plainStyle = { bold: false, dim: false, italic: false, underline: false, color: null };

Deno.test({
  name:
    "full screen: links underlined, code dim, strong bold, emphasis italic, my mention highlighted",
  ignore: !hasTmux(),
  async fn() {
    await using server = await startServer({ host: "127.0.0.1", port: 0, tickMs: 50 });
    await using bob = await RawClient.join(server.port, "bob");
    await using tmux = new Tmux();
    const ana = await tmux.open(
      "ana",
      joinCommand([`127.0.0.1:${server.port}`, "--nick", "ana"]),
      120,
      20,
    );
    const carol = await tmux.open(
      "carol",
      joinCommand([`127.0.0.1:${server.port}`, "--nick", "carol"], { NO_COLOR: "1" }),
      120,
      20,
    );
    await ana.waitFor(/online: .*carol/);
    await carol.waitFor(/online: .*ana/);

    await bob.say(
      "m1 see https://example.lan/x, run `make test`, **ship it** *today* :rocket: @ana " +
        "`\x1b[31m` [docs](https://docs.lan)",
    );
    const shown =
      /<bob> m1 see https:\/\/example\.lan\/x, run make test, ship it today 🚀 @ana ␛\[31m docs \(https:\/\/docs\.lan\)/;
    await ana.waitFor(shown);
    await carol.waitFor(shown);

    const row = await messageRow(ana, tmux, "m1");
    assertEquals(styleOf(row, "see "), plainStyle);
    assertEquals(styleOf(row, "https://example.lan/x"), { ...plainStyle, underline: true });
    assertEquals(styleOf(row, ", run "), plainStyle, "the comma is not part of the link");
    assertEquals(styleOf(row, "make test"), { ...plainStyle, dim: true });
    assertEquals(styleOf(row, "ship it"), { ...plainStyle, bold: true });
    assertEquals(styleOf(row, "today"), { ...plainStyle, italic: true });
    assertEquals(styleOf(row, "@ana"), { ...plainStyle, bold: true, color: 93 });
    assertEquals(styleOf(row, "␛[31m"), { ...plainStyle, dim: true }, "inert inside code");
    assertEquals(styleOf(row, "docs"), { ...plainStyle, underline: true });
    assertEquals(styleOf(row, "https://docs.lan"), { ...plainStyle, dim: true });

    // NO_COLOR: the same attributes, no colour; @ana is someone else's name for carol.
    const plainRow = await messageRow(carol, tmux, "m1");
    assertEquals(styleOf(plainRow, "https://example.lan/x"), { ...plainStyle, underline: true });
    assertEquals(styleOf(plainRow, "make test"), { ...plainStyle, dim: true });
    assertEquals(styleOf(plainRow, "ship it"), { ...plainStyle, bold: true });
    assertEquals(styleOf(plainRow, "@ana"), { ...plainStyle, bold: true });
    assert(plainRow.every((cell) => cell.color === null), "a colour under NO_COLOR");

    // A fenced block: its own rows, dim; @here highlights for everyone.
    await bob.say("m2 @here look:\n```\nline one\n  line two\n```");
    await carol.waitFor(/m2 @here look:\n\s+line one\n\s+ line two/);
    const carolScreen = await tmux.run("capture-pane", "-e", "-p", "-t", carol.name);
    const block = carolScreen.split("\n").find((each) => each.includes("line one"))!;
    assertEquals(styleOf(cells(block), "line one"), { ...plainStyle, dim: true });
    await ana.waitFor(/m2 @here look:/);
    assertEquals(styleOf(await messageRow(ana, tmux, "m2"), "@here"), {
      ...plainStyle,
      bold: true,
      color: 93,
    });
    await tmux.saveAll("markup");
  },
});
