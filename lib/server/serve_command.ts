/**
 * `lanchat serve` as a person runs it: start the server, print where people
 * can join, stop cleanly on Ctrl-C / SIGTERM.
 *
 * Owns: the start banner, start-up error messages and signal handling.
 * Server behaviour itself lives in server.ts.
 */
import { ListenError, StorageError } from "../wire/errors.ts";
import { openServerHistory } from "../store/history_sqlite.ts";
import { KeyFileError, loadOrCreateKey, type StoredKey } from "../identity/key_file.ts";
import { defaultServerKeyPath } from "../identity/device_key.ts";
import { fingerprint } from "../wire/identity.ts";
import type { SqliteHistory } from "../store/history_sqlite.ts";
import { isLoopbackHost, lanAddresses } from "../discovery/lan_addresses.ts";
import { startRetention } from "../store/retention.ts";
import { startServer } from "./server.ts";
import type { RunningServer } from "./server.ts";
import { firewallCommandFor } from "../ops/firewall.ts";
import { createRoomKey } from "../wire/room_key.ts";
import type { RoomKey } from "../wire/room_key.ts";
import { PasswordSourceError, readServePassword } from "./serve_password.ts";
import { defaultSessionLimits } from "./session.ts";
import type { SessionLimits } from "./session.ts";
import { defaultRequestRates } from "./limits/request_limits.ts";
import type { RequestRates } from "./limits/request_limits.ts";
import type { Network } from "./limits/ip_networks.ts";
import { connectionCeiling, raiseOpenFileLimit } from "./open_files.ts";
import type { OpenFileLimit } from "./open_files.ts";
import { passwordProblem } from "./password_strength.ts";
import { lanchatCommand } from "../cli/run_command.ts";
import { FileStore, formatBinary } from "../store/file_store.ts";

/** Flags of `lanchat serve`, as parsed by main.ts. */
export interface ServeFlags {
  host: string;
  port: number;
  name?: string;
  maxUsers: number;
  /** Joins and leaves are announced while at most this many are online. */
  presenceLimit: number;
  /** `--no-guests` sets false: refuse a `hello` without a device key. */
  guests?: boolean;
  /** `--accounts-per-hour N`: nicks one address may claim per hour (and at once). */
  accountsPerHour?: number;
  /** `--max-accounts N`: accounts in all. */
  maxAccounts?: number;
  /** `--max-devices N`: device keys per account. */
  maxDevices?: number;
  /** `--max-channels N`: channels besides #general. */
  maxChannels?: number;
  /** `--key-checks-per-second N`: signatures checked or made per address and second. */
  keyChecksPerSecond?: number;
  /** History file, or ":memory:". */
  db: string;
  /** Delete messages older than this many days (none when undefined). */
  keepDays?: number;
  /** `--max-db-mib N`: refuse new messages before the history file reaches N MiB (no limit when undefined). */
  maxDbMib?: number;
  /** `--min-free-mib N`: refuse new messages while the disk has less than N MiB free (default 256; 0: off). */
  minFreeMib?: number;
  web: boolean;
  webPort: number;
  discovery: boolean;
  /** UDP port answering LAN discovery (`--discovery-port`); unused with --no-discovery. */
  discoveryPort: number;
  quiet: boolean;
  /** `--password`: ask for the room password at the terminal. */
  password?: boolean;
  /** `--password-file FILE`. */
  passwordFile?: string;
  /** `--tls-cert FILE` / `--tls-key FILE`: HTTPS for the web page. */
  tlsCert?: string;
  tlsKey?: string;
  /** `--max-connections-per-ip N`. */
  maxConnectionsPerIp?: number;
  /** `--hello-timeout SECONDS`. */
  helloTimeout?: number;
  /** `--max-frame-bytes N`. */
  maxFrameBytes?: number;
  /** `--max-message-bytes N`. */
  maxMessageBytes?: number;
  /** `--flood-burst N`. */
  floodBurst?: number;
  /** `--flood-rate N` (frames per second). */
  floodRate?: number;
  /** `--max-outbox-kib N`. */
  maxOutboxKib?: number;
  /** `--max-pending-connections N`. */
  maxPendingConnections?: number;
  /** `--max-users-per-net N`. */
  maxUsersPerNet?: number;
  /** `--trusted-net CIDR`, repeatable. */
  trustedNet?: Network[];
  /** `--searches-per-minute N`. */
  searchesPerMinute?: number;
  /** `--history-pages-per-minute N`. */
  historyPagesPerMinute?: number;
  /** `--text-kib-per-minute N`. */
  textKibPerMinute?: number;
  /** `--max-auth-failures N`. */
  maxAuthFailures?: number;
  /** `--weak-password-ok`: accept a room password shorter than 8 characters. */
  weakPasswordOk?: boolean;
  /** `--web-host NAME`, repeatable. */
  webHost?: string[];
  /** `--allow-origin ORIGIN`, repeatable. */
  allowOrigin?: string[];
  /** `--web-timeout SECONDS`: header and keep-alive timeout of the web port. */
  webTimeout?: number;
  /** `--no-files` sets false: refuse `upload` and `get`. */
  files?: boolean;
  /** `--files-dir DIR`: where shared files are kept (default: `files` beside the history). */
  filesDir?: string;
  /** `--max-file-size BYTES`. */
  maxFileSize?: number;
  /** `--max-disk-percent N`. */
  maxDiskPercent?: number;
  /** `--max-files-size BYTES`: all files together. */
  maxFilesSize?: number;
  /** `--partial-upload-hours N`. */
  partialUploadHours?: number;
  /** `--max-open-uploads N`. */
  maxOpenUploads?: number;
}

/** Where shared files are kept: `--files-dir`, else `files` beside the history file. */
export function filesFolderFor(flags: Pick<ServeFlags, "db" | "filesDir">): string | null {
  if (flags.filesDir !== undefined) return flags.filesDir;
  if (flags.db === ":memory:") return null; // a temporary folder, gone when the server stops
  const slash = flags.db.lastIndexOf("/");
  return `${slash < 0 ? "." : flags.db.slice(0, slash) || "/"}/files`;
}

/** The rates the flags ask for; unset ones keep their defaults. */
export function requestRatesFromFlags(flags: ServeFlags): Partial<RequestRates> {
  const rates: Partial<RequestRates> = {};
  if (flags.searchesPerMinute !== undefined) {
    rates.searchesPerMinute = flags.searchesPerMinute;
    rates.searchBurst = Math.max(
      1,
      Math.min(defaultRequestRates.searchBurst, flags.searchesPerMinute),
    );
  }
  if (flags.historyPagesPerMinute !== undefined) {
    rates.historyPagesPerMinute = flags.historyPagesPerMinute;
    rates.historyBurst = Math.max(
      1,
      Math.min(defaultRequestRates.historyBurst, flags.historyPagesPerMinute),
    );
  }
  if (flags.keyChecksPerSecond !== undefined) rates.keyChecksPerSecond = flags.keyChecksPerSecond;
  if (flags.textKibPerMinute !== undefined) {
    rates.textKibPerMinute = flags.textKibPerMinute;
    rates.textBurstKib = Math.max(defaultRequestRates.textBurstKib, flags.textKibPerMinute);
  }
  return rates;
}

/** The session limits the flags ask for; unset ones keep their defaults. */
export function limitsFromFlags(flags: ServeFlags): SessionLimits {
  const limits = { ...defaultSessionLimits };
  if (flags.helloTimeout !== undefined) limits.helloTimeoutMs = flags.helloTimeout * 1000;
  if (flags.maxMessageBytes !== undefined) limits.maxTextBytes = flags.maxMessageBytes;
  if (flags.floodBurst !== undefined) limits.floodBurst = flags.floodBurst;
  if (flags.floodRate !== undefined) limits.floodPerSecond = flags.floodRate;
  if (flags.maxOutboxKib !== undefined) limits.maxOutboxBytes = flags.maxOutboxKib * 1024;
  return limits;
}

/** The TLS files, read; throws an Error whose message says what to do. */
async function readTls(flags: ServeFlags): Promise<{ cert: string; key: string } | null> {
  if (flags.tlsCert === undefined && flags.tlsKey === undefined) return null;
  if (flags.tlsCert === undefined || flags.tlsKey === undefined) {
    throw new Error("give both --tls-cert FILE and --tls-key FILE (PEM files), or neither");
  }
  const read = async (path: string, what: string) => {
    try {
      return await Deno.readTextFile(path);
    } catch (error) {
      throw new Error(
        `cannot read the TLS ${what} ${path}: ${error instanceof Error ? error.message : error}`,
      );
    }
  };
  return { cert: await read(flags.tlsCert, "certificate"), key: await read(flags.tlsKey, "key") };
}

function timestamp(): string {
  return new Date().toTimeString().slice(0, 8);
}

/** Runs the server until a signal stops it; returns the exit code. */
export async function runServe(flags: ServeFlags): Promise<number> {
  const log = flags.quiet ? () => {} : (line: string) => console.log(`${timestamp()} ${line}`);
  let roomKey: RoomKey | null = null;
  let passwordWarning: string | null = null;
  let tls: { cert: string; key: string } | null;
  try {
    tls = flags.web ? await readTls(flags) : null;
    const password = await readServePassword(flags);
    if (password !== null) {
      const problem = passwordProblem(password);
      if (problem?.refuse && flags.weakPasswordOk !== true) {
        console.error(
          `lanchat: ${problem.text}. Anyone on the network could guess it. Choose a longer one ` +
            "(a few words make a good passphrase), or pass --weak-password-ok if you mean it.",
        );
        return 2;
      }
      if (problem !== null) passwordWarning = problem.text;
    }
    // Derived once here (scrypt is slow on purpose); the password itself is dropped.
    if (password !== null) roomKey = await createRoomKey(password);
  } catch (error) {
    if (!(error instanceof Error)) throw error;
    console.error(`lanchat: ${error.message}`);
    return error instanceof PasswordSourceError ? 2 : 1;
  }
  let history: SqliteHistory;
  try {
    history = await openServerHistory(flags.db, {
      ...(flags.maxDbMib === undefined ? {} : { maxSizeBytes: flags.maxDbMib * 1024 * 1024 }),
      minFreeBytes: (flags.minFreeMib ?? 256) * 1024 * 1024,
      // Storage problems reach the operator even with --quiet (that hides joins and leaves).
      log: (line) => console.log(`${timestamp()} ${line}`),
    });
  } catch (error) {
    if (!(error instanceof StorageError)) throw error;
    console.error(`lanchat: ${error.message}\n  ${error.hint}`);
    return 1;
  }
  // The server's own key (issue #14): made once beside its history (in the data folder for a
  // history in memory), shown in the banner, proven to every client that asks.
  let serverKey: StoredKey;
  try {
    serverKey = (await loadOrCreateKey(defaultServerKeyPath(flags.db), "server")).key;
  } catch (error) {
    await history.close();
    if (!(error instanceof KeyFileError)) throw error;
    console.error(`lanchat: ${error.message}`);
    return 1;
  }
  // Shared files (issue #16): beside the history, or in a temporary folder for a history in memory.
  let fileStore: FileStore | null = null;
  let temporaryFiles: string | null = null;
  if (flags.files !== false) {
    try {
      let folder = filesFolderFor(flags);
      if (folder === null) {
        folder = temporaryFiles = await Deno.makeTempDir({ prefix: "lanchat-files-" });
      }
      fileStore = await FileStore.open(folder, {
        ...(flags.maxDiskPercent === undefined ? {} : { maxDiskPercent: flags.maxDiskPercent }),
        ...(flags.maxFilesSize === undefined ? {} : { maxTotalBytes: flags.maxFilesSize }),
        ...(flags.partialUploadHours === undefined
          ? {}
          : { partialMaxAgeMs: flags.partialUploadHours * 3_600_000 }),
        log: (line) => console.log(`${timestamp()} ${line}`),
      });
    } catch (error) {
      await history.close();
      if (!(error instanceof StorageError)) throw error;
      console.error(`lanchat: ${error.message}\n  ${error.hint}`);
      return 1;
    }
  }
  // Every connection is a file descriptor: take what the OS allows before listening.
  const openFiles = raiseOpenFileLimit();
  let server: RunningServer;
  try {
    server = await startServer({
      host: flags.host,
      port: flags.port,
      maxUsers: flags.maxUsers,
      presenceLimit: flags.presenceLimit,
      webPort: flags.web ? flags.webPort : null,
      discoveryPort: flags.discovery ? flags.discoveryPort : null,
      history,
      accounts: history.accounts,
      channels: history.channels,
      readMarks: history.readMarks,
      identity: {
        guests: flags.guests ?? true,
        ...(flags.accountsPerHour === undefined
          ? {}
          : { accountsPerHour: flags.accountsPerHour, accountBurst: flags.accountsPerHour }),
        ...(flags.maxAccounts === undefined ? {} : { maxAccounts: flags.maxAccounts }),
        ...(flags.maxDevices === undefined ? {} : { maxDevices: flags.maxDevices }),
        ...(flags.maxChannels === undefined ? {} : { maxChannels: flags.maxChannels }),
      },
      serverKey: serverKey.keyPair,
      ...(flags.name === undefined ? {} : { name: flags.name }),
      log,
      roomKey,
      webTls: tls,
      limits: limitsFromFlags(flags),
      ...(flags.maxConnectionsPerIp === undefined
        ? {}
        : { maxConnectionsPerIp: flags.maxConnectionsPerIp }),
      ...(flags.maxFrameBytes === undefined ? {} : { maxFrameBytes: flags.maxFrameBytes }),
      gate: {
        ...(flags.maxPendingConnections === undefined
          ? {}
          : { maxPendingConnections: flags.maxPendingConnections }),
        ...(flags.maxUsersPerNet === undefined ? {} : { maxUsersPerNet: flags.maxUsersPerNet }),
        trustedNets: flags.trustedNet ?? [],
      },
      requestRates: requestRatesFromFlags(flags),
      webAccess: { webHosts: flags.webHost ?? [], allowOrigins: flags.allowOrigin ?? [] },
      ...(flags.webTimeout === undefined ? {} : {
        webLimits: {
          headerTimeoutMs: flags.webTimeout * 1000,
          idleTimeoutMs: flags.webTimeout * 1000,
        },
      }),
      ...(flags.maxAuthFailures === undefined
        ? {}
        : { authLimits: { maxFailures: flags.maxAuthFailures } }),
      ...(fileStore === null ? {} : {
        files: {
          store: fileStore,
          limits: {
            ...(flags.maxFileSize === undefined ? {} : { maxFileBytes: flags.maxFileSize }),
            ...(flags.maxOpenUploads === undefined ? {} : { maxOpenUploads: flags.maxOpenUploads }),
          },
        },
      }),
    });
  } catch (error) {
    await history.close();
    if (temporaryFiles !== null) await Deno.remove(temporaryFiles, { recursive: true });
    console.error(startFailure(error, flags));
    return 1;
  }
  const retention = flags.keepDays === undefined ? null : startRetention(history, flags.keepDays, {
    log: (line) => console.log(`${timestamp()} ${line}`),
    // Files go with their messages: bytes no message refers to any more are removed.
    afterPrune: () => server.files?.sweep(),
  });
  // Listen for signals before the banner: whoever reads it may stop us at once.
  const stopped = Promise.withResolvers<void>();
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  const onSignal = () => stopped.resolve();
  for (const signal of signals) Deno.addSignalListener(signal, onSignal);
  printBanner(server, {
    ...flags,
    roomPassword: roomKey !== null,
    passwordWarning,
    openFiles,
    serverKey,
  });
  await stopped.promise;
  console.log(
    `${timestamp()} shutting down: telling ${server.room.size} users, closing connections`,
  );
  retention?.stop();
  await server.close();
  if (temporaryFiles !== null) await Deno.remove(temporaryFiles, { recursive: true });
  for (const signal of signals) Deno.removeSignalListener(signal, onSignal);
  console.log(`${timestamp()} stopped`);
  return 0;
}

function printBanner(
  server: RunningServer,
  flags: ServeFlags & {
    roomPassword: boolean;
    passwordWarning: string | null;
    openFiles: OpenFileLimit | null;
    serverKey: StoredKey;
  },
): void {
  const lines = [`lanchat is serving room "${server.name}"`];
  const scheme = server.webTls ? "https" : "http";
  lines.push(`  chat (TCP): listening on ${server.host}:${server.port}`);
  if (server.webPort !== null) {
    lines.push(
      `  web page:   listening on ${server.host}:${server.webPort}${
        server.webTls ? " (HTTPS)" : ""
      }`,
    );
  }
  lines.push(
    flags.roomPassword
      ? "  room password: required (Noise NNpsk0 + scrypt); give it to the people you invite"
      : "  room password: none (anyone on the network can join and read; see SECURITY.md)",
  );
  if (flags.passwordWarning !== null) {
    lines.push(`  warning: ${flags.passwordWarning}; a longer passphrase is much harder to guess.`);
  }
  const files = server.files;
  lines.push(
    files === null
      ? "  files: off (--no-files)"
      : `  files: up to ${formatBinary(files.limits.maxFileBytes)} each, kept in ${
        flags.db === ":memory:" && flags.filesDir === undefined
          ? "a temporary folder (gone when the server stops)"
          : files.store.root
      }; uploads stop at ${flags.maxDiskPercent ?? 90}% disk use`,
  );
  const ceiling = flags.openFiles === null ? null : connectionCeiling(flags.openFiles);
  if (flags.openFiles !== null && ceiling !== null && ceiling < flags.maxUsers) {
    lines.push(
      `  warning: this process may open ${flags.openFiles.soft} files, room for about ${ceiling} ` +
        `connections, fewer than --max-users ${flags.maxUsers} needs.`,
      `           Raise the limit (ulimit -n ${flags.maxUsers + 1024}, or LimitNOFILE= in a ` +
        "systemd unit) or lower --max-users.",
    );
  }
  if (server.discoveryPort !== null) {
    lines.push(
      `  discovery:  answering on UDP ${server.discoveryPort} (for ${lanchatCommand("discover")})`,
    );
  } else if (server.discoveryProblem !== null) {
    lines.push(
      `  warning: ${server.discoveryProblem}.`,
      "           People can still join with the address; or pick --discovery-port N.",
    );
  }
  if (isLoopbackHost(server.host)) {
    lines.push(
      `  warning: bound to ${server.host}, so only this machine can join.`,
      `           Use --host 0.0.0.0 to let others on your network in.`,
      `  join it with:  ${lanchatCommand("join", `${server.host}:${server.port}`)}`,
    );
    if (server.webPort !== null) {
      lines.push(`  or open:       ${scheme}://${server.host}:${server.webPort}/`);
    }
  } else {
    const addresses = lanAddresses();
    if (addresses.length === 0) {
      lines.push(
        `  no LAN address found; on this machine: ${
          lanchatCommand("join", `127.0.0.1:${server.port}`)
        }`,
      );
    } else {
      lines.push("  people on your network can join with:");
      for (const address of addresses) {
        const join = lanchatCommand("join", `${address.address}:${server.port}`);
        lines.push(`    ${join}    (${address.interface})`);
      }
      if (server.webPort !== null) {
        lines.push("  or open in a browser:");
        for (const address of addresses) {
          lines.push(`    ${scheme}://${address.address}:${server.webPort}/`);
        }
      }
    }
  }
  if (!isLoopbackHost(server.host)) {
    const firewall = firewallCommandFor({
      port: server.port,
      webPort: server.webPort,
      discoveryPort: server.discoveryPort ?? (flags.discovery ? flags.discoveryPort : null),
    }, lanchatCommand);
    lines.push(`  others cannot connect? open the firewall: ${firewall}`);
  }
  lines.push(
    `  server key: ${fingerprint(flags.serverKey.keyPair.publicKey)} (${flags.serverKey.path})`,
    `  history: ${
      flags.db === ":memory:" ? "in memory only (gone when the server stops)" : flags.db
    }`,
    `  nicks: ${server.room.accounts.count()} owned${
      flags.db === ":memory:" ? "" : ` (${lanchatCommand("accounts", "--db", flags.db)} lists them)`
    }; ${
      server.room.identity.guests
        ? "guests without a device key may use the others"
        : "clients without a device key are refused (--no-guests)"
    }`,
    "  press Ctrl-C to stop",
  );
  console.log(lines.join("\n"));
}

/** A start-up failure as a sentence that says what to do. */
export function startFailure(error: unknown, flags: ServeFlags): string {
  if (!(error instanceof ListenError)) {
    return `lanchat: could not start: ${error instanceof Error ? error.message : String(error)}`;
  }
  const flag = error.role === "chat" ? "--port" : "--web-port";
  const what = error.role === "chat" ? "chat port" : "web port";
  const cause = error.cause;
  if (cause instanceof Deno.errors.AddrInUse) {
    return `lanchat: the ${what} ${error.port} is already in use on ${flags.host} (another lanchat serve?). ` +
      `Stop it, or pick another port with ${flag}${error.role === "web" ? " (or --no-web)" : ""}.`;
  }
  if (cause instanceof Deno.errors.PermissionDenied) {
    return `lanchat: not allowed to listen on ${what} ${error.port}. Ports below 1024 need admin rights; ` +
      `use ${flag} with a port of 1024 or higher.`;
  }
  if (cause instanceof Deno.errors.AddrNotAvailable) {
    return `lanchat: ${flags.host} is not an address of this machine. Use --host 0.0.0.0 ` +
      `(every interface) or one of its own addresses.`;
  }
  return `lanchat: ${error.message}`;
}
