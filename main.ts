/**
 * lanchat's command line: parse flags, call the subcommand, one top-level catch.
 *
 * Owns: subcommand and flag definitions, --help texts, exit codes.
 * Behaviour lives in lib/; nothing here talks to a socket.
 */
import { collectAllowedOrigin, collectWebHost } from "./lib/server/http/web_hosts.ts";
import { Command, CommanderError, Option } from "commander";
import denoConfig from "./deno.json" with { type: "json" };
import { StorageError } from "./lib/wire/errors.ts";
import { installNativeAead } from "./lib/wire/native_aead.ts";
import {
  checkedWith,
  collectedWith,
  existingFolderPath,
  intBetween,
  parsePort,
  parsePositiveInt,
  parseSize,
} from "./lib/cli/cli_values.ts";
import { lanchatCommand, runContext } from "./lib/cli/run_command.ts";
import { parseNetwork } from "./lib/server/limits/ip_networks.ts";
import { parseTime } from "./lib/store/time_parse.ts";
import { maxTextBytes, normalizeLinkCode } from "./lib/wire/protocol.ts";
import { maxPayloadBytes } from "./lib/frame.ts";
import { runServe } from "./lib/server/serve_command.ts";
import { defaultDbPath } from "./lib/cli/data_dir.ts";
import { runHistoryCommand } from "./lib/store/history_cli.ts";
import {
  runAccountsList,
  runAccountsRelease,
  runAccountsRemoveDevice,
} from "./lib/store/accounts_cli.ts";
import { join, parseAddress } from "./lib/client/terminal/join.ts";
import { runGet, runSend } from "./lib/client/terminal/file_commands.ts";
import { runDiscover } from "./lib/discovery/discovery_client.ts";
import { runFirewall } from "./lib/ops/firewall.ts";
import { runDoctor } from "./lib/ops/doctor.ts";
import { defaultDeviceKeyPath, runWhoami } from "./lib/identity/device_key.ts";
import { chooseServer } from "./lib/client/terminal/server_choice.ts";
import { defaultRecentServersPath, rememberServer } from "./lib/client/terminal/recent_servers.ts";
import {
  endQuietlyWhenStdoutCloses,
  isBrokenPipe,
  printLine,
  writeStdout,
} from "./lib/cli/stdout.ts";

/** `join ADDRESS`, `doctor ADDRESS`: checked now (a bad one is wrong usage, exit 2), kept as typed. */
const serverAddressArgument = checkedWith((text) => {
  parseAddress(text, 9000);
  return text;
});
/** `history --since/--until`: checked now, read later against the command's own clock. */
const timeArgument = checkedWith((text) => {
  parseTime(text, Date.now());
  return text;
});
/** `join --link CODE`: a code as `/link` shows it (case, spaces and the dash do not matter). */
const linkCodeFlag = checkedWith((text) => {
  const code = normalizeLinkCode(text);
  if (code === null) {
    throw new Error(
      "a link code is 8 letters and digits, as /link shows it on your other device (e.g. K7QM-3XPA).",
    );
  }
  return code;
});
/** `--trusted-net CIDR`, repeatable. */
const networkFlag = collectedWith(parseNetwork);

// `lanchat --help | head -3`: a reader that goes away ends us quietly, exit 0.
endQuietlyWhenStdoutCloses();
/** Where the commands print: stdout for results, stderr for problems. */
const stdio = {
  out: printLine,
  err: (line: string) => console.error(line),
};

/**
 * An examples block for --help: each command as it is typed here
 * (lib/cli/run_command.ts), its explanation lined up after the longest.
 */
function examples(rows: [command: string, what: string][]): string {
  // A very long command (a pipe, a path) does not push every explanation right.
  const width = Math.max(...rows.map(([command]) => command.length).filter((n) => n <= 56)) + 2;
  const row = ([command, what]: [string, string]) =>
    `  ${command.length + 2 <= width ? command.padEnd(width) : `${command}  `}${what}`.trimEnd();
  return ["", "Examples:", ...rows.map(row)].join("\n");
}

/** From a clone, what "lanchat" in the rest of the help stands for; nothing for the binary. */
function fromSourceNote(): string {
  if (runContext().standalone) return "";
  return `

lanchat runs from source here: where a text says "lanchat COMMAND", type
  ${lanchatCommand("COMMAND")}
or, for serve and join:
  ${lanchatCommand("serve")}
  ${lanchatCommand("join")}`;
}

const program = new Command()
  .name("lanchat")
  .description("Self-hosted chat for a local network: one server, terminal and browser clients.")
  .version(denoConfig.version, "-V, --version", "print the lanchat version")
  .showSuggestionAfterError()
  .exitOverride()
  .configureOutput({ writeOut: writeStdout })
  .addHelpText("after", () =>
    examples([
      [lanchatCommand("serve"), "start a room on port 9000 (web page on 9001)"],
      [lanchatCommand("join"), "find the room on your network and join it"],
      [lanchatCommand("join", "192.168.1.20"), "join the room on that machine"],
      [lanchatCommand("discover"), "list the rooms on your network"],
      [lanchatCommand("firewall"), "the commands that open lanchat's ports here"],
      [lanchatCommand("doctor", "192.168.1.20"), "what stops you from joining that room"],
      [lanchatCommand("join", "192.168.1.20:9100", "--nick", "ana"), ""],
    ]) + fromSourceNote());

// Noise with a room password: the runtime's native ChaCha20-Poly1305 (checked against @noble
// first, about 8 ms), 6 to 7 times faster for file transfer; only for the commands that may open a
// secure session (the page keeps @noble).
const secureCommands = new Set(["serve", "join", "send", "get"]);
program.hook("preAction", (_program, action) => {
  if (secureCommands.has(action.name())) installNativeAead();
});

program.command("serve")
  .description("Run a chat room that people on your network can join.")
  .option("--host <address>", "address to listen on (0.0.0.0 = every interface)", "0.0.0.0")
  .option("-p, --port <port>", "TCP chat port", parsePort, 9000)
  .option("--name <name>", "room name shown to people who join (default: this machine's name)")
  .option("--max-users <n>", "most users online at once", parsePositiveInt, 1000)
  .option(
    "--presence-limit <n>",
    "announce joins and leaves while at most N users are online",
    parsePositiveInt,
    1000,
  )
  .option(
    "--no-guests",
    "refuse clients without a device key (version-1 clients); lanchat's own always have one",
  )
  .option(
    "--accounts-per-hour <n>",
    "nicks one address may claim per hour, after 20 at once (default: 20)",
    parsePositiveInt,
  )
  .option(
    "--max-accounts <n>",
    "accounts (owned nicks) in all; release unused ones with 'lanchat accounts release' (default: 10000)",
    parsePositiveInt,
  )
  .option("--max-devices <n>", "device keys per account (default: 16)", parsePositiveInt)
  .option("--max-channels <n>", "channels besides #general (default: 1000)", parsePositiveInt)
  .option(
    "--key-checks-per-second <n>",
    "signatures one address may have the server check or make per second, twice as many at once (default: 10)",
    parsePositiveInt,
  )
  .option(
    "--db <path>",
    "history database file, or :memory: to keep nothing (its folder must exist)",
    existingFolderPath("--db"),
    defaultDbPath(),
  )
  .option(
    "--keep-days <n>",
    "delete messages older than N days (default: keep all)",
    parsePositiveInt,
  )
  .option(
    "--max-db-mib <n>",
    "refuse new messages once the history file reaches N MiB (default: no limit)",
    parsePositiveInt,
  )
  .option(
    "--min-free-mib <n>",
    "refuse new messages while the disk holding the history has less than N MiB free (0: off)",
    intBetween(0, 1024 * 1024 * 1024),
    256,
  )
  .option("--no-files", "do not take or give files (upload and get are refused)")
  .option(
    "--files-dir <dir>",
    "where shared files are kept (default: a 'files' folder beside the history file)",
  )
  .option(
    "--max-file-size <size>",
    "largest file people may send, e.g. 500MB or 4GiB (default: 2GiB)",
    checkedWith(parseSize),
  )
  .option(
    "--max-disk-percent <n>",
    "refuse uploads that would fill the files' disk past N percent (default: 90)",
    intBetween(1, 100),
  )
  .option(
    "--max-files-size <size>",
    "all shared files together at most this much, e.g. 100GiB (default: no limit)",
    checkedWith(parseSize),
  )
  .option(
    "--partial-upload-hours <n>",
    "remove an unfinished upload nobody resumed for N hours (default: 24)",
    intBetween(1, 24 * 365),
  )
  .option(
    "--max-open-uploads <n>",
    "unfinished uploads one person may have at once (default: 4)",
    intBetween(1, 1000),
  )
  .option("--web-port <port>", "port of the web page and its WebSocket", parsePort, 9001)
  .option("--no-web", "do not serve the web page")
  .option("--discovery-port <port>", "UDP port answering LAN discovery", parsePort, 9000)
  .option("--no-discovery", "do not answer LAN discovery broadcasts")
  .option("-q, --quiet", "do not log joins and leaves", false)
  .option(
    "--password",
    "require a room password, asked here (hidden); or set LANCHAT_PASSWORD, or --password-file",
  )
  .option("--password-file <file>", "require the room password in the first line of FILE")
  .option("--tls-cert <file>", "serve the web page over HTTPS with this PEM certificate (chain)")
  .option("--tls-key <file>", "the PEM private key of --tls-cert")
  .option(
    "--max-connections-per-ip <n>",
    "connections open at once from one address (default: 64)",
    parsePositiveInt,
  )
  .option(
    "--hello-timeout <seconds>",
    "close a connection that has not joined after this long (default: 10)",
    intBetween(1, 3600),
  )
  .option(
    "--max-frame-bytes <n>",
    `largest frame a client may send (default and most: ${maxPayloadBytes})`,
    intBetween(64, maxPayloadBytes),
  )
  .option(
    "--max-message-bytes <n>",
    `longest message text in UTF-8 bytes (default and most: ${maxTextBytes})`,
    intBetween(1, maxTextBytes),
  )
  .option(
    "--flood-burst <n>",
    "frames a client may send at once before flood control slows it (default: 200)",
    parsePositiveInt,
  )
  .option(
    "--flood-rate <n>",
    "frames per second a client may keep sending past the burst (default: 500)",
    parsePositiveInt,
  )
  .option(
    "--max-outbox-kib <n>",
    "unread backlog (KiB) at which a client that stops reading is dropped (default: 4096)",
    parsePositiveInt,
  )
  .option(
    "--max-pending-connections <n>",
    "connections open at once that have not joined yet, all addresses together (default: 2000)",
    parsePositiveInt,
  )
  .option(
    "--max-users-per-net <n>",
    "users from one /24 (IPv4) or /64 (IPv6) network; loopback and --trusted-net exempt (default: 256)",
    parsePositiveInt,
  )
  .option(
    "--trusted-net <cidr>",
    "a network exempt from --max-users-per-net, e.g. 192.168.1.0/24 (repeatable)",
    networkFlag,
  )
  .option(
    "--searches-per-minute <n>",
    "searches one address (and one nick) may make per minute (default: 60)",
    parsePositiveInt,
  )
  .option(
    "--history-pages-per-minute <n>",
    "history pages one address (and one nick) may ask for per minute (default: 600)",
    parsePositiveInt,
  )
  .option(
    "--text-kib-per-minute <n>",
    "message text (KiB) one address (and one nick) may store per minute (default: 1024)",
    parsePositiveInt,
  )
  .option(
    "--max-auth-failures <n>",
    "wrong room passwords from one address in 10 minutes before it is refused for 10 (default: 10)",
    parsePositiveInt,
  )
  .option("--weak-password-ok", "accept a room password shorter than 8 characters")
  .option(
    "--web-host <name>",
    "a name the web page is reached under besides this machine's own (repeatable)",
    collectWebHost,
  )
  .option(
    "--allow-origin <origin>",
    "another site whose pages may open /ws, as scheme://host[:port] (repeatable)",
    collectAllowedOrigin,
  )
  .option(
    "--web-timeout <seconds>",
    "seconds a browser connection may take to send a request, or sit idle (default: 5)",
    intBetween(1, 3600),
  )
  .addHelpText(
    "after",
    `
Room password: set LANCHAT_PASSWORD, or use --password-file FILE, or --password
to type it (hidden). It is never accepted as a value on the command line, where
other users of this machine could read it.`,
  )
  .action(async (flags) => {
    Deno.exitCode = await runServe(flags);
  });

program.command("join")
  .description("Join a chat room from this terminal. Piped input posts each line and exits.")
  .argument(
    "[address]",
    "server as HOST or HOST:PORT (default: find it on your network)",
    serverAddressArgument,
  )
  .option("-n, --nick <nick>", "your nick (asked for when missing)")
  .addOption(
    new Option("-p, --port <port>", "server port when ADDRESS has none").argParser(parsePort)
      .default(9000),
  )
  .option("--discovery-port <port>", "UDP port to find servers on (no ADDRESS)", parsePort, 9000)
  .option(
    "--no-bell",
    "never ring the terminal bell (/notify sets when it rings, per conversation)",
  )
  .option(
    "--forget-password",
    "forget that this server had a room password (only when whoever runs it removed it)",
  )
  .option(
    "--forget-server-key",
    "forget the key this server proved before (only when whoever runs it says it changed)",
  )
  .addOption(
    new Option(
      "--link <code>",
      "add this device to your account with a code from /link on a device already in",
    ).argParser(linkCodeFlag).conflicts("guest"),
  )
  .option("--guest", "join without this device's key: the nick is not kept for you")
  .addOption(
    new Option(
      "--channel <name>",
      "post piped lines to this channel, or start there (ops or #ops; made when missing)",
    ).conflicts("guest"),
  )
  .addHelpText("after", () =>
    examples([
      [lanchatCommand("join"), "finds the room on your network (asks if several)"],
      [lanchatCommand("join", "192.168.1.20"), "asks for your nick, then chats"],
      [lanchatCommand("join", "192.168.1.20:9000", "--nick", "ana"), ""],
      [
        `printf 'build done\\n' | ${lanchatCommand("join", "192.168.1.20", "--nick", "ci")}`,
        "post from a script",
      ],
      [
        `printf 'deploy done\\n' | ${
          lanchatCommand("join", "192.168.1.20", "--channel", "ops", "--nick", "ci")
        }`,
        "post to #ops",
      ],
      [lanchatCommand("join", "192.168.1.20", "--link", "K7QM-3XPA"), "this device joins as you"],
    ]) +
    `

A room with a password asks for it (hidden), or reads LANCHAT_PASSWORD (needed when piped).
Once you joined a server with a password, or while LANCHAT_PASSWORD is set, a
server there that asks for none is refused: it may not be the room you think. The same for a
server that answers with another key than the one it proved when you joined it first.

Your nick stays yours: the first time you join, this device makes its key and proves it to the
server, which keeps your nick for it. To be you on another device too, type /link here and join
there with --link CODE (good once, for 10 minutes). --guest joins without the key, as older
clients do: a nick nobody owns, no private history. This device's key:
  ${lanchatCommand("whoami")}

Channels: everyone is in #general. --channel NAME joins another (made when it does not exist;
channels belong to your account, so not with --guest) and posts piped lines there; at the
terminal it starts there. Inside: /join #NAME, /part, /channels, /topic, /notify, /next;
Alt+1..9 and Alt+Left/Right (or Ctrl+P/N) switch conversations in the full screen.`)
  .action(
    async (
      address: string | undefined,
      flags: {
        nick?: string;
        port: number;
        discoveryPort: number;
        bell: boolean;
        forgetPassword?: boolean;
        forgetServerKey?: boolean;
        link?: string;
        guest?: boolean;
        channel?: string;
      },
    ) => {
      const target = address === undefined
        ? await chooseServer({ discoveryPort: flags.discoveryPort, command: lanchatCommand })
        : parseAddress(address, flags.port);
      if (target === null) {
        Deno.exitCode = 1; // chooseServer has said why and what to try.
        return;
      }
      const code = await join({
        host: target.host,
        port: target.port,
        ...(flags.nick === undefined ? {} : { nick: flags.nick }),
        bell: flags.bell,
        recentServersPath: defaultRecentServersPath(),
        forgetPassword: flags.forgetPassword === true,
        forgetServerKey: flags.forgetServerKey === true,
        command: lanchatCommand,
        ...(flags.guest === true ? {} : { deviceKeyPath: defaultDeviceKeyPath() }),
        ...(flags.link === undefined ? {} : { linkCode: flags.link }),
        ...(flags.channel === undefined ? {} : { channel: flags.channel }),
      });
      if (code === 0) await rememberServer(target);
      Deno.exitCode = code;
    },
  );

program.command("send")
  .description("Send files to a chat room: to #general, a channel, or a person.")
  .argument("<address>", "server as HOST or HOST:PORT", serverAddressArgument)
  .argument("<file...>", "the files to send, in order")
  .addOption(
    new Option("-p, --port <port>", "server port when ADDRESS has none").argParser(parsePort)
      .default(9000),
  )
  .addOption(
    new Option("--channel <name>", "send to this channel (ops or #ops; joined, made when missing)")
      .conflicts("to"),
  )
  .option("--to <nick>", "send to this person (your direct conversation)")
  .option("-n, --nick <nick>", "the nick to claim when this device has no account there yet")
  .option("--json", "one JSON object per file sent (id, name, size, sha256, ...) on stdout", false)
  .addHelpText("after", () =>
    examples([
      [lanchatCommand("send", "192.168.1.20", "report.pdf"), "to #general"],
      [lanchatCommand("send", "192.168.1.20", "*.png", "--channel", "design"), "to #design"],
      [lanchatCommand("send", "192.168.1.20", "notes.txt", "--to", "ana"), "to ana only"],
      [lanchatCommand("send", "192.168.1.20", "build.tar.gz", "--json"), "for a script"],
    ]) +
    `

Files are sent by your account (this device's key, as \`join\` uses it; not as a guest):
the people of the conversation see a message with the file and fetch it with /get or
\`lanchat get\`. A dropped connection resumes where the server got to. Progress goes to stderr.
A room with a password reads LANCHAT_PASSWORD (or asks, at a terminal).
Exit codes: 0 every file sent, 1 one was not (the others still go), 2 wrong usage.`)
  .action(
    async (
      address: string,
      files: string[],
      flags: { port: number; channel?: string; to?: string; nick?: string; json: boolean },
    ) => {
      const target = parseAddress(address, flags.port);
      Deno.exitCode = await runSend({
        host: target.host,
        port: target.port,
        files,
        json: flags.json,
        ...(flags.channel === undefined ? {} : { channel: flags.channel }),
        ...(flags.to === undefined ? {} : { to: flags.to }),
        ...(flags.nick === undefined ? {} : { nick: flags.nick }),
        deviceKeyPath: defaultDeviceKeyPath(),
        recentServersPath: defaultRecentServersPath(),
        command: lanchatCommand,
      });
    },
  );

program.command("get")
  .description("Fetch a file that was sent to a chat room, by its id.")
  .argument("<address>", "server as HOST or HOST:PORT", serverAddressArgument)
  .argument("<file-id>", "the file's id (/files shows it; so does send --json)", parsePositiveInt)
  .addOption(
    new Option("-p, --port <port>", "server port when ADDRESS has none").argParser(parsePort)
      .default(9000),
  )
  .option("-o, --output <path>", "save as PATH, or into the folder PATH (default: its name, here)")
  .option("-f, --force", "replace a file already at that path")
  .option("-n, --nick <nick>", "the nick to claim when this device has no account there yet")
  .option("--guest", "fetch without this device's key (only the files of #general)")
  .option("--json", "one JSON object (id, name, size, sha256, path) on stdout", false)
  .addHelpText("after", () =>
    examples([
      [lanchatCommand("get", "192.168.1.20", "42"), "saves it here under its own name"],
      [lanchatCommand("get", "192.168.1.20", "42", "-o", "report.pdf"), ""],
      [lanchatCommand("get", "192.168.1.20", "42", "-o", "downloads/"), "into a folder"],
    ]) +
    `

The bytes go to PATH.part (or lanchat-file-ID.part) and the file gets its name only once its
SHA-256 matches the sender's. An interrupted get, run again the same way, resumes from the
.part. An existing file is never replaced without --force. You get the files of the
conversations you are in. A room with a password reads LANCHAT_PASSWORD (or asks).
Exit codes: 0 saved, 1 not (no such file, damaged, cannot write, PATH exists), 2 wrong usage.`)
  .action(
    async (
      address: string,
      id: number,
      flags: {
        port: number;
        output?: string;
        force?: boolean;
        nick?: string;
        guest?: boolean;
        json: boolean;
      },
    ) => {
      const target = parseAddress(address, flags.port);
      Deno.exitCode = await runGet({
        host: target.host,
        port: target.port,
        id,
        json: flags.json,
        force: flags.force === true,
        ...(flags.output === undefined ? {} : { output: flags.output }),
        ...(flags.nick === undefined ? {} : { nick: flags.nick }),
        ...(flags.guest === true ? {} : { deviceKeyPath: defaultDeviceKeyPath() }),
        recentServersPath: defaultRecentServersPath(),
        command: lanchatCommand,
      });
    },
  );

program.command("discover")
  .description("List the lanchat rooms on your network (asks by UDP broadcast).")
  .option("--timeout <ms>", "how long to wait for answers, in ms", parsePositiveInt, 1000)
  .option("--json", "one JSON object per room", false)
  .option("-p, --port <port>", "UDP discovery port", parsePort, 9000)
  .addHelpText(
    "after",
    `
Exit codes: 0 when a room answered, 1 when none did.`,
  )
  .action(async (flags: { timeout: number; json: boolean; port: number }) => {
    Deno.exitCode = await runDiscover({ ...flags, command: lanchatCommand }, stdio);
  });

program.command("firewall")
  .description("Print the commands that open lanchat's ports in this machine's firewall.")
  .option("-p, --port <port>", "TCP chat port", parsePort, 9000)
  .option("--web-port <port>", "TCP web page port", parsePort, 9001)
  .option("--no-web", "the server runs without the web page")
  .option("--discovery-port <port>", "UDP discovery port", parsePort, 9000)
  .option("--no-discovery", "the server runs without discovery")
  .action(async (flags) => {
    Deno.exitCode = await runFirewall({ ...flags, command: lanchatCommand }, stdio);
  });

program.command("doctor")
  .description("Check from this machine what stops you from joining a room.")
  .argument(
    "[address]",
    "server as HOST or HOST:PORT (default: the first room discovery finds)",
    serverAddressArgument,
  )
  .option("-p, --port <port>", "chat port when ADDRESS has none", parsePort, 9000)
  .option("--web-port <port>", "web port to try when discovery does not say", parsePort, 9001)
  .option("--discovery-port <port>", "UDP discovery port", parsePort, 9000)
  .option("--timeout <ms>", "time limit of each check, in ms", parsePositiveInt, 2000)
  .addHelpText(
    "after",
    `
Exit codes: 0 when joining should work, 1 when something stops it, 2 for a bad address.`,
  )
  .action(
    async (
      address: string | undefined,
      flags: { port: number; webPort: number; discoveryPort: number; timeout: number },
    ) => {
      Deno.exitCode = await runDoctor(
        { ...flags, ...(address === undefined ? {} : { address }), command: lanchatCommand },
        stdio,
      );
    },
  );

program.command("history")
  .description("Read the chat history without a running server (or beside one).")
  .option("--db <path>", "history database file", existingFolderPath("--db"), defaultDbPath())
  .option(
    "--since <time>",
    "from this time: 2026-11-25, 2026-11-25T14:00, or 2h / 3d / 1w ago",
    timeArgument,
  )
  .option("--until <time>", "before this time (same forms as --since)", timeArgument)
  .option(
    "--with <nick>",
    "only NICK's messages: public ones it sent, private ones of the account that owns it now",
  )
  .option("--search <text>", "only messages containing TEXT (any case)")
  .option("--channel <name>", "only the public messages of channel NAME (ops or #ops; general too)")
  .option("--limit <n>", "show the newest N matches", parsePositiveInt, 100)
  .option("--json", "one JSON object per line", false)
  .option(
    "--salvage <new>",
    "copy every message that can still be read from a damaged --db into the new file NEW",
    existingFolderPath("--salvage"),
  )
  .addHelpText(
    "after",
    `
Whoever can read the file can read every message in it: without --with, private messages between
any two people are shown too. --with NICK shows the private messages of the account that owns NICK
now, under any nick it used; when nobody owns NICK, those sent or received under NICK by guests
(and by an older lanchat, before accounts). A released account's messages stay its own.`,
  )
  .action(async (flags) => {
    Deno.exitCode = await runHistoryCommand({ ...flags, command: lanchatCommand }, printLine);
  });

const accounts = program.command("accounts")
  .description("List the accounts that own nicks, free a nick, or remove a lost device.")
  .addHelpText(
    "after",
    () =>
      `
Works on the history file of a stopped or a running server (a running one notices the change).
A nick belongs to the first device key that joins with it; the person adds devices themselves.
` +
      examples([
        [lanchatCommand("accounts"), "every account, its devices and when they were seen"],
        [
          lanchatCommand("accounts", "release", "ana"),
          "free 'ana' when its owner lost every device",
        ],
        [
          lanchatCommand("accounts", "remove-device", "SHA256:If4x36FUomFi"),
          "remove a lost device",
        ],
      ]),
  );

/**
 * `--db` of every `accounts` command: the file `lanchat serve` uses, running or not. Taken before
 * the subcommand (`accounts --db F remove-device X`, as the serve banner writes it) or after it.
 */
const accountsDbOption = () =>
  new Option("--db <path>", "history database file (of a stopped or running server)")
    .argParser(existingFolderPath("--db"));
accounts.addOption(accountsDbOption());

/** The `--db` given to an `accounts` subcommand or to `accounts` itself, else the default. */
function accountsDb(flags: { db?: string }): string {
  return flags.db ?? (accounts.opts() as { db?: string }).db ?? defaultDbPath();
}

accounts.command("list", { isDefault: true })
  .description("List every account: nick, devices (fingerprints), created, last seen.")
  .addOption(accountsDbOption())
  .option("--json", "one JSON object per account, with whole fingerprints", false)
  .allowExcessArguments() // an unknown subcommand lands here: said below, as wrong usage
  .action((flags: { db?: string; json: boolean }, command: Command) => {
    const [unknown] = command.args;
    if (unknown !== undefined) {
      accounts.error(
        `error: unknown command '${unknown}' for 'lanchat accounts' (its commands: list, release NICK, remove-device FINGERPRINT)`,
      );
    }
    Deno.exitCode = runAccountsList(
      { ...flags, db: accountsDb(flags), defaultDb: defaultDbPath(), command: lanchatCommand },
      stdio,
    );
  });

accounts.command("release")
  .description("Free NICK: its owner's devices are removed, its private history stays theirs.")
  .argument("<nick>", "the nick to free")
  .addOption(accountsDbOption())
  .addHelpText(
    "after",
    `
For someone who lost every device: the next one to join as NICK owns it, as a new account that
does not see the old private messages. Exit codes: 0, 1 when nobody owns NICK.`,
  )
  .action((nick: string, flags: { db?: string }) => {
    Deno.exitCode = runAccountsRelease(
      nick,
      { db: accountsDb(flags), defaultDb: defaultDbPath(), command: lanchatCommand },
      stdio,
    );
  });

accounts.command("remove-device")
  .description("Remove one device key from its account (a lost or stolen device).")
  .argument("<fingerprint>", "SHA256:... as listed, or at least 8 characters of it after SHA256:")
  .addOption(accountsDbOption())
  .addHelpText(
    "after",
    `
The device cannot join as the account's nick any more; the account keeps its other devices.
Exit codes: 0, 1 when no device, or more than one, has that fingerprint.`,
  )
  .action((printed: string, flags: { db?: string }) => {
    Deno.exitCode = runAccountsRemoveDevice(
      printed,
      { db: accountsDb(flags), defaultDb: defaultDbPath(), command: lanchatCommand },
      stdio,
    );
  });

program.command("whoami")
  .description("Show this device's key: its fingerprint and where it is kept.")
  .option("--json", "one JSON object: fingerprint, path, created, made", false)
  .addHelpText(
    "after",
    `
The key is made the first time it is needed (nothing to type), kept in your data folder, readable
by you only. \`lanchat join\` proves it to servers so your nick stays yours there (/whois shows the
fingerprints of a nick's devices). Exit codes: 0, or 1 when the key file cannot be used (the
message says why).`,
  )
  .action(async (flags: { json: boolean }) => {
    Deno.exitCode = await runWhoami(flags, printLine, stdio.err);
  });

try {
  await program.parseAsync(Deno.args, { from: "user" });
} catch (error) {
  if (isBrokenPipe(error)) {
    Deno.exit(0); // stdout's reader has gone: nothing to say, nobody to say it to.
  } else if (error instanceof CommanderError) {
    // Commander has printed the help, the version, or what was wrong with the flags.
    Deno.exitCode = error.exitCode === 0 ? 0 : 2;
  } else if (error instanceof StorageError) {
    console.error(`lanchat: ${error.message}\n  ${error.hint}`);
    Deno.exitCode = 1;
  } else {
    console.error(`lanchat: ${error instanceof Error ? error.message : String(error)}`);
    Deno.exitCode = 1;
  }
}
