/**
 * `lanchat history`: print stored messages from a history file, with no
 * server running or beside a running one (the file is opened read-only; WAL
 * lets readers and the server's writer work at the same time; a file on
 * read-only media is read too, see openSqliteHistory).
 *
 * Owns: the filters, the two output formats (lines for people, JSON lines
 * for scripts, both naming the channel of a channel's message), and the
 * report of `--salvage`. Imports lib/store/history_sqlite.ts,
 * lib/store/history_salvage.ts, lib/store/channels.ts (and channels_sqlite.ts
 * for its type), lib/store/time_parse.ts, lib/store/local_time.ts,
 * lib/wire/errors.ts and lib/cli/run_command.ts (how the suggested command is
 * written); must not import the server, room or sockets.
 */
import type { FileInfo } from "../wire/protocol.ts";
import { openSqliteHistory } from "./history_sqlite.ts";
import { salvageHistory } from "./history_salvage.ts";
import type { OperatorQuery } from "./history_sqlite.ts";
import type { StoredMessage } from "./history.ts";
import { general } from "./channels.ts";
import type { SqliteChannels } from "./channels_sqlite.ts";
import { parseTime } from "./time_parse.ts";
import { localIsoTime, localMinute } from "./local_time.ts";
import { documentedCommand, shellWord } from "../cli/run_command.ts";
import type { CommandFormat } from "../cli/run_command.ts";

/** Options of runHistoryCommand, as the flags of `lanchat history`. */
export interface HistoryCommandOptions {
  /** The history file (`--db`). It is never created: a missing file is a StorageError. */
  db: string;
  /** Only messages at or after this time (`--since`, forms of parseTime). */
  since?: string;
  /** Only messages before this time (`--until`, forms of parseTime). */
  until?: string;
  /**
   * Only this nick's messages (`--with`): the public ones it sent, and the
   * private ones of the account that owns the nick now, sent or received
   * under any nick that account used; when nobody owns the nick, the private
   * ones sent or received under it without an account (guests, and messages
   * of an older lanchat that no account claimed). A private message of an
   * account that once had the nick and was released is not the new owner's
   * and is not shown. There is no viewer here: the operator reads their own
   * file, so without `with` every message is shown, private ones between any
   * two people included.
   */
  with?: string;
  /** Only messages whose text contains this, case-insensitively (`--search`). */
  search?: string;
  /**
   * Only the public messages of this channel (`--channel`), named with or
   * without its `#`, in any case: `general` is `#general`, the public
   * messages in no channel. An unknown name is an Error listing the channels.
   */
  channel?: string;
  /** Show the newest this many matches, oldest first (`--limit`). Default 100. */
  limit?: number;
  /** One JSON object per line instead of text (`--json`). Default false. */
  json?: boolean;
  /**
   * Instead of printing: copy every message that can still be read from a
   * damaged `db` into a new history at this path, which must not exist
   * (`--salvage NEW`). The filters do not apply.
   */
  salvage?: string;
  /**
   * How a suggested command is written (no flag). Default: documentedCommand
   * (`lanchat serve ...`); main.ts passes lanchatCommand, the form that runs here.
   */
  command?: CommandFormat;
}

/** The fields of one `--json` line. */
export interface HistoryJsonLine {
  id: number;
  ts: number;
  /** Local time, ISO 8601 with the UTC offset: `2026-11-25T14:03:00.000+01:00`. */
  time: string;
  from: string;
  to: string | null;
  /** The channel of a public message (`#general` when in none); null for a private one. */
  channel: string | null;
  kind: "text" | "action";
  text: string;
  /** A file message's file (name, size, mime, sha256); its id is the message's. */
  file?: FileInfo;
}

/**
 * Runs `lanchat history`: calls `out` once per message, oldest first, as
 * `[2026-11-25 14:03] <alice> text` (`#general`), `[..] <alice #ops> text`
 * (in channel `#ops`), `[..] <alice -> bob> text` (private) or
 * `[..] * alice waves` (action); or with `json` one HistoryJsonLine per call.
 * With no match, text output is the single line `(no messages)` and JSON
 * output is nothing.
 *
 * With `salvage`, copies what can be read into the new file instead, calls
 * `out` with the counts and `progress` every few seconds of a long run, and
 * resolves with 0 when something was copied, 1 when nothing could be.
 *
 * Throws StorageError (missing, damaged or newer file) or Error (a bad
 * `--since`/`--until`/`--limit`, an unknown `--channel`), with messages meant
 * for the person typing.
 * Resolves with the exit code.
 */
export async function runHistoryCommand(
  options: HistoryCommandOptions,
  out: (line: string) => void,
  now: () => number = Date.now,
  progress: (line: string) => void = (line) => console.error(line),
): Promise<number> {
  if (options.salvage !== undefined) {
    const command = options.command ?? documentedCommand;
    return runSalvage(options.db, options.salvage, out, progress, command);
  }
  const limit = options.limit ?? 100;
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new Error(`--limit must be a whole number of messages, 1 or more (got ${limit})`);
  }
  const query: OperatorQuery = { limit };
  if (options.since !== undefined) query.sinceTs = parseTime(options.since, now());
  if (options.until !== undefined) query.untilTs = parseTime(options.until, now());
  if (options.with !== undefined) query.involving = options.with;
  if (options.search !== undefined) query.text = options.search;

  const history = openSqliteHistory(options.db, { readOnly: true });
  let messages: StoredMessage[];
  let channelName: (id: number) => string;
  try {
    const channels = history.channels;
    if (options.channel !== undefined) {
      query.channel = channelNamed(channels, options.channel, options.db);
    }
    messages = history.query(query);
    const names = new Map(channels.list().map((channel) => [channel.id, channel.name]));
    channelName = (id) => names.get(id) ?? `(channel ${id})`;
  } finally {
    await history.close();
  }
  if (messages.length === 0 && !options.json) out("(no messages)");
  for (const message of messages) {
    const channelId = message.channel ?? general.id;
    if (options.json) {
      out(JSON.stringify(jsonLine(message, message.to === null ? channelName(channelId) : null)));
    } else {
      const inChannel = message.to === null && channelId !== general.id;
      out(textLine(message, inChannel ? channelName(channelId) : null));
    }
  }
  return 0;
}

/** The id of the channel `name` (`ops`, `#ops`, `general`) for `--channel`; Error when unknown. */
function channelNamed(channels: SqliteChannels, name: string, db: string): number {
  const wanted = name.startsWith("#") ? name : `#${name}`;
  const channel = channels.byName(wanted);
  if (channel !== null) return channel.id;
  const known = channels.list().map((each) => each.name);
  throw new Error(
    `no channel ${wanted} in ${db} (its channels: ${known.slice(0, 20).join(", ")}${
      known.length > 20 ? `, and ${known.length - 20} more` : ""
    })`,
  );
}

async function runSalvage(
  source: string,
  target: string,
  out: (line: string) => void,
  progress: (line: string) => void,
  command: CommandFormat,
): Promise<number> {
  const report = await salvageHistory(source, target, { progress });
  const ranges = report.unreadableRanges.map(([first, last]) =>
    first === last ? `${first}` : `${first}-${last}`
  );
  out(`copied ${report.copied} messages from ${source} into ${target}`);
  if (report.unreadable > 0) {
    out(
      `${report.unreadable} could not be read (ids ${ranges.slice(0, 10).join(", ")}${
        ranges.length > 10 ? ", ..." : ""
      })`,
    );
  }
  if (report.accounts > 0 || report.accountRowsUnreadable > 0) {
    out(
      `copied ${report.accounts} accounts with ${report.devices} devices` +
        (report.accountRowsUnreadable > 0
          ? `; ${report.accountRowsUnreadable} rows of accounts, devices or their nicks' ` +
            `look-alikes could not be read (a device left out cannot join under its nick: ` +
            `link it again from another device of the account, or free the nick with ` +
            `${command("accounts", "release", "NICK", "--db", shellWord(target))})`
          : ""),
    );
  }
  if (report.accountsRestoredReleased > 0) {
    out(
      `${report.accountsRestoredReleased} accounts could not be read but own private messages: ` +
        `they are kept as released accounts, so nobody who joins later sees those messages`,
    );
  }
  const recovered = report.channelsRecovered;
  if (report.channels > 0 || report.channelRowsUnreadable > 0 || recovered.length > 0) {
    out(
      `copied ${report.channels} channels with ${report.channelMembers} memberships` +
        (report.channelRowsUnreadable > 0
          ? `; ${report.channelRowsUnreadable} rows of channels, their members or their names' ` +
            `look-alikes could not be read (a member left out can join the channel again)`
          : ""),
    );
  }
  if (recovered.length > 0) {
    out(
      `${recovered.length} channels could not be read but hold messages: they are kept, ` +
        `messages and the members that could be read, as ${recovered.slice(0, 10).join(", ")}${
          recovered.length > 10 ? ", ..." : ""
        } (nothing of them is in #general); see one with ${
          command("history", "--db", shellWord(target), "--channel", shellWord(recovered[0]!))
        }`,
    );
  }
  if (report.copied === 0) {
    out(
      report.unreadable === 0
        ? `${source} holds no messages to copy`
        : `nothing could be read from ${source}; restore a backup if you have one`,
    );
    return 1;
  }
  out(`serve it with: ${command("serve", "--db", shellWord(target))}`);
  return 0;
}

/**
 * One message as a line for people: local time, nicks, the channel (`channel`,
 * for a message in one; null for `#general` and private messages), and text
 * with control characters made visible.
 */
export function textLine(message: StoredMessage, channel: string | null = null): string {
  const time = `[${localMinute(message.ts)}]`;
  const who = message.to !== null
    ? `${message.from} -> ${message.to}`
    : channel === null
    ? message.from
    : `${message.from} ${channel}`;
  const text = showControls(message.text);
  return message.kind === "action" ? `${time} * ${who} ${text}` : `${time} <${who}> ${text}`;
}

/** One message as the object of a `--json` line; `channel` as in HistoryJsonLine. */
export function jsonLine(message: StoredMessage, channel: string | null): HistoryJsonLine {
  const { id, ts, from, to, kind, text, file } = message;
  const line: HistoryJsonLine = { id, ts, time: localIsoTime(ts), from, to, channel, kind, text };
  if (file !== undefined) line.file = file;
  return line;
}

/**
 * Control characters other than newline and tab (an escape sequence sent by a
 * chat user must not drive the operator's terminal) shown as `\x1b`, `\u009b`.
 */
function showControls(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, (char) => {
    const code = char.charCodeAt(0);
    return code < 0x80
      ? `\\x${code.toString(16).padStart(2, "0")}`
      : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}
