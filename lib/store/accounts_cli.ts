/**
 * `lanchat accounts`: the operator's view of the accounts in a history file
 * (PROTOCOL.md section 8), and the two changes the operator may make there:
 * free a nick whose owner lost every device (`release`), and remove one
 * device key (`remove-device`). It works on the file of a stopped server and
 * of a running one alike: the file is opened in place as one more SQLite
 * connection (openHistoryFile: no lock, never created nor migrated), a
 * change waits for the server's write lock like any writer, and the running
 * server notices it (`Accounts.changedElsewhere`) and acts on it.
 *
 * Owns: the listing's two formats (blocks for people, JSON lines for
 * scripts), the reports of the changes and what they tell the operator to
 * do next. Imports lib/store/history_sqlite.ts (openHistoryFile),
 * lib/store/accounts_sqlite.ts, lib/store/accounts.ts (types),
 * lib/store/local_time.ts, lib/wire/identity.ts, lib/wire/base64.ts and
 * lib/cli/run_command.ts; must not import the server, room or sockets.
 */
import type { DatabaseSync } from "node:sqlite";
import { openHistoryFile } from "./history_sqlite.ts";
import { SqliteAccounts } from "./accounts_sqlite.ts";
import type { AccountListing, Device } from "./accounts.ts";
import { localMinute } from "./local_time.ts";
import { fingerprint, shortFingerprint } from "../wire/identity.ts";
import { toBase64 } from "../wire/base64.ts";
import { documentedCommand, shellWord } from "../cli/run_command.ts";
import type { CommandFormat } from "../cli/run_command.ts";

/** Options of every `lanchat accounts` command, as their flags. */
export interface AccountsCommandOptions {
  /**
   * The history file (`--db`): the one `lanchat serve` uses, running or not.
   * It is never created: a missing file, one that is not a lanchat history,
   * or one of another schema version is a StorageError.
   */
  db: string;
  /**
   * The default of `--db` (no flag): suggested commands name `--db` only for
   * another file. Default: none, they always name it.
   */
  defaultDb?: string;
  /**
   * How a suggested command is written (no flag). Default: documentedCommand
   * (`lanchat accounts ...`); main.ts passes lanchatCommand, the form that runs here.
   */
  command?: CommandFormat;
}

/** Options of runAccountsList. */
export interface AccountsListOptions extends AccountsCommandOptions {
  /** One AccountJsonLine per line instead of text (`--json`). Default false. */
  json?: boolean;
}

/** Where a command prints: results on `out`, problems on `err`. */
export interface AccountsOutput {
  out: (line: string) => void;
  err: (line: string) => void;
}

/** The fields of one `lanchat accounts --json` line. Times are ms since the epoch. */
export interface AccountJsonLine {
  id: number;
  /** The nick it owns, or owned until it was released. */
  nick: string;
  created: number;
  /** When the operator released it, or null while it owns its nick. */
  released: number | null;
  /** The latest `seen` of its devices (a device never seen since it was added: `added`); null with no device. */
  lastSeen: number | null;
  devices: Array<{
    /** The whole fingerprint, `SHA256:` and 43 characters. */
    fingerprint: string;
    /** BASE64 of the 32-byte Ed25519 public key, as `hello.key` carries it. */
    key: string;
    added: number;
    /** When it last joined or left, or null when never since it was added. */
    seen: number | null;
  }>;
}

/**
 * `lanchat accounts [list]`: every account, oldest first, released ones too.
 * Text: one block per account, a line with its nick, when it was made and
 * last seen, then one line per device (short fingerprint, added, seen); with
 * no account, one line saying how accounts come about. `json`: one
 * AccountJsonLine per account, nothing when there is none. Throws
 * StorageError for a file it cannot use. Returns the exit code, 0.
 */
export function runAccountsList(options: AccountsListOptions, output: AccountsOutput): number {
  const accounts = withAccounts(options, true, (store) => store.list());
  if (options.json) {
    for (const account of accounts) output.out(JSON.stringify(accountJsonLine(account)));
    return 0;
  }
  if (accounts.length === 0) {
    output.out("(no accounts yet: a nick is claimed the first time someone joins with it)");
    return 0;
  }
  const command = suggest(options);
  for (const account of accounts) {
    for (const line of accountBlock(account, command)) output.out(line);
  }
  return 0;
}

/**
 * `lanchat accounts release NICK`: frees NICK. Its account keeps its
 * private history, out of reach of whoever claims NICK next, and loses its
 * devices. Returns 0, or 1 (saying so on `err`) when no account owns NICK.
 * Throws StorageError for a file it cannot use or change.
 */
export function runAccountsRelease(
  nick: string,
  options: AccountsCommandOptions,
  output: AccountsOutput,
  now: () => number = Date.now,
): number {
  const change = withAccounts(options, false, (store) => store.release(nick, now()));
  if (change === null) {
    output.err(`lanchat: nobody owns '${nick}'`);
    output.err(`  see who owns which nick with: ${suggest(options)("accounts")}`);
    return 1;
  }
  const owned = change.account.nick;
  const removed = change.devicesRemoved;
  output.out(
    `'${owned}' is free now; the old account keeps its private history, which the next ` +
      `'${owned}' will not see; ${removed} ${removed === 1 ? "device" : "devices"} removed`,
  );
  output.out(
    `The first to join as '${owned}' from now on owns it, as a new account (a running server ` +
      `disconnects the old account's devices that are online).`,
  );
  return 0;
}

/**
 * `lanchat accounts remove-device FINGERPRINT`: removes one device key, named
 * by its whole fingerprint or a prefix of at least 8 characters after
 * `SHA256:` that only it has. Says which account lost which device and what
 * the person can do next. Returns 0, or 1 (saying why on `err`) when no
 * device or more than one matches. Throws StorageError for a file it cannot
 * use or change.
 */
export function runAccountsRemoveDevice(
  printed: string,
  options: AccountsCommandOptions,
  output: AccountsOutput,
): number {
  const command = suggest(options);
  let result: { nick: string; device: Device; left: Device[] };
  try {
    result = withAccounts(options, false, (store) => {
      const change = store.removeDevice(printed);
      return {
        nick: change.account.nick,
        device: change.device,
        left: store.devices(change.account.id),
      };
    });
  } catch (error) {
    // SqliteAccounts says in plain Errors why no device, or more than one, matches.
    if (!(error instanceof Error) || error.name !== "Error") throw error;
    output.err(`lanchat: ${error.message}`);
    output.err(`  see every device's fingerprint with: ${command("accounts")}`);
    return 1;
  }
  const { nick, device, left } = result;
  output.out(
    `removed device ${fingerprint(device.publicKey)} from '${nick}' ` +
      `(${deviceTimes(device)})`,
  );
  if (left.length === 0) {
    output.out(
      `'${nick}' has no device left: nobody can join as '${nick}' now. If the person has lost ` +
        `every device, free the nick with: ${command("accounts", "release", shellWord(nick))} ` +
        `(they then join as '${nick}' again as a new account, without the old private history)`,
    );
  } else {
    const others = left.map((other) => shortFingerprint(other.publicKey)).join(", ");
    output.out(
      `'${nick}' keeps ${left.length} ${left.length === 1 ? "device" : "devices"} (${others}). ` +
        `A lost or stolen device needs nothing more: it cannot join as '${nick}' any more. ` +
        `To use it again, add it from one of those ('/link' in the terminal, "Add a device" on ` +
        `the page), then join with the code it shows.`,
    );
  }
  return 0;
}

/** Opens `options.db`, runs `work` on its accounts, closes it. */
function withAccounts<T>(
  options: AccountsCommandOptions,
  readOnly: boolean,
  work: (store: SqliteAccounts) => T,
): T {
  const command = suggest(options);
  const db: DatabaseSync = openHistoryFile(options.db, {
    readOnly,
    busyTimeoutMs: 5000,
    upgradeHint: `start the server on it once, which upgrades it: ${
      command("serve", "--db", shellWord(options.db))
    } (a history of an older lanchat has no accounts yet)`,
  });
  try {
    return work(new SqliteAccounts(db, options.db));
  } finally {
    db.close();
  }
}

/** The command format of `options`, with `--db FILE` added when FILE is not the default. */
function suggest(options: AccountsCommandOptions): CommandFormat {
  const command = options.command ?? documentedCommand;
  const db = options.db === options.defaultDb ? [] : ["--db", shellWord(options.db)];
  return (subcommand, ...args) =>
    subcommand === "serve" ? command(subcommand, ...args) : command(subcommand, ...args, ...db);
}

/** The lines of one account for people. */
function accountBlock(account: AccountListing, command: CommandFormat): string[] {
  const created = `created ${localMinute(account.created)}`;
  if (account.released !== null) {
    return [`${account.nick} (released ${localMinute(account.released)}): ${created}`];
  }
  const devices = account.devices;
  if (devices.length === 0) {
    return [
      `${account.nick}: ${created}, no devices: nobody can join as '${account.nick}' ` +
      `(free the nick with: ${command("accounts", "release", shellWord(account.nick))})`,
    ];
  }
  const lastSeen = lastSeenOf(devices);
  return [
    `${account.nick}: ${created}, last seen ${localMinute(lastSeen ?? account.created)}, ` +
    `${devices.length} ${devices.length === 1 ? "device" : "devices"}`,
    ...devices.map((device) => `  ${shortFingerprint(device.publicKey)}  ${deviceTimes(device)}`),
  ];
}

/** `added ...`, and `last seen ...` once it was online after it was added. */
function deviceTimes(device: Device): string {
  const added = `added ${localMinute(device.added)}`;
  return device.seen === null ? added : `${added}, last seen ${localMinute(device.seen)}`;
}

/**
 * When any of `devices` was last online: the latest `seen`, where a device
 * not seen since it was added counts its `added` (a device is added while it
 * is online). Null for no device.
 */
function lastSeenOf(devices: Device[]): number | null {
  let latest: number | null = null;
  for (const device of devices) {
    const at = device.seen ?? device.added;
    if (latest === null || at > latest) latest = at;
  }
  return latest;
}

/** One account as the object of a `--json` line. */
export function accountJsonLine(account: AccountListing): AccountJsonLine {
  return {
    id: account.id,
    nick: account.nick,
    created: account.created,
    released: account.released,
    lastSeen: lastSeenOf(account.devices),
    devices: account.devices.map((device) => ({
      fingerprint: fingerprint(device.publicKey),
      key: toBase64(device.publicKey),
      added: device.added,
      seen: device.seen,
    })),
  };
}
