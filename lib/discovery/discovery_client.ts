/**
 * The joining side of LAN discovery (PROTOCOL.md section 6): send the probe
 * to every IPv4 broadcast address, collect the `here` answers for a while,
 * merge the repeated ones (same address and port); and `lanchat discover`,
 * which shows them.
 *
 * Owns: the default probe targets, merging answers, the discover table and
 * JSON lines, the "none found, what to try" advice, and what a probe that
 * could not be sent means (no network at all, or one network refusing).
 * Imports lib/discovery/discovery.ts, lib/wire/inert_text.ts (to print room
 * names inertly) and lib/cli/run_command.ts (how suggested commands are
 * written); never the server.
 */
import dgram from "node:dgram";
import { defaultDiscoveryPort, parseHere, probeBytes } from "./discovery.ts";
import { inert } from "../wire/inert_text.ts";
import { documentedCommand } from "../cli/run_command.ts";
import type { CommandFormat } from "../cli/run_command.ts";
import { ipv4ToNumber, numberToIpv4 } from "./lan_addresses.ts";

/** A server that answered, with every address it answered from. */
export interface FoundServer {
  /** Room name, as the server sent it (print it through `inert`). */
  name: string;
  /**
   * The address it answered from (one: answers from another address are
   * another entry, whatever their `id`). A list for the JSON lines' sake.
   */
  addresses: string[];
  /** TCP chat port. */
  port: number;
  /** Web port, or null without the web page. */
  web: number | null;
  /** True when the room has a password. */
  secure: boolean;
  /** People online, from the first answer. */
  users: number;
  /** The server's random start id when it sent one (see lib/discovery/discovery.ts), else null. */
  id: string | null;
  /**
   * How many other entries answered with the same `id` from another address
   * or port: a server on two networks, or someone copying its id to be
   * joined instead. Nothing tells them apart here (a copied key fingerprint
   * is as easy), so they stay separate rooms and `join` asks. 0 for most.
   */
  sameIdElsewhere: number;
  /** The fingerprint of the server's key from the first answer, or null (an older server). */
  key: string | null;
}

/** Options of {@link discoverServers}. */
export interface DiscoverOptions {
  /** How long to collect answers, in ms. Default 1000. */
  timeoutMs?: number;
  /** UDP port servers answer on. Default 9000. */
  port?: number;
  /**
   * IPv4 addresses to send the probe to. Default: {@link broadcastTargets}
   * of this machine's interfaces (every broadcast address, then
   * 255.255.255.255). A unicast address such as "127.0.0.1" asks one host.
   */
  targets?: string[];
  /**
   * Told about each address the probe could not be sent to, each distinct
   * problem once ({@link sendProblem}: "no network to search: ..." when this
   * machine has no network to send it on). Default: nothing.
   */
  onProblem?: (problem: string) => void;
  /** This machine's interfaces, read when a send fails. Default: Deno.networkInterfaces. */
  interfaces?: () => Deno.NetworkInterfaceInfo[];
  /** How the problems write a command to try. Default: documentedCommand (`lanchat join ...`). */
  command?: CommandFormat;
  /** Stop waiting once this many servers answered. Default: wait the whole timeout. */
  maxServers?: number;
}

/** The limited broadcast address, always probed by default. */
export const limitedBroadcast = "255.255.255.255";

/**
 * The directed broadcast address of `address` with `netmask`
 * ("192.168.1.20", "255.255.255.0" -> "192.168.1.255"), or null when either
 * is not an IPv4 address.
 */
export function broadcastAddress(address: string, netmask: string): string | null {
  const ip = ipv4ToNumber(address);
  const mask = ipv4ToNumber(netmask);
  if (ip === null || mask === null) return null;
  // Unsigned arithmetic: ip | ~mask, kept in 0..2^32-1.
  return numberToIpv4((ip | (~mask >>> 0)) >>> 0);
}

/**
 * Where the probe goes by default: the broadcast address of every IPv4
 * interface except loopback and single-address (/31, /32) links, each once,
 * then 255.255.255.255.
 */
export function broadcastTargets(interfaces: Deno.NetworkInterfaceInfo[]): string[] {
  const targets: string[] = [];
  for (const info of interfaces) {
    if (info.family !== "IPv4" || info.address.startsWith("127.")) continue;
    const prefix = Number(info.cidr.split("/")[1] ?? 32);
    if (prefix >= 31) continue;
    const target = broadcastAddress(info.address, info.netmask);
    if (target !== null && !targets.includes(target)) targets.push(target);
  }
  targets.push(limitedBroadcast);
  return targets;
}

/**
 * The first words of the problem {@link sendProblem} reports when this
 * machine has no network to search (callers may test for it).
 */
export const noNetworkPrefix = "no network to search";

/**
 * What it means that the probe could not be sent to `target`, as one line
 * that says what to try. When `interfaces` (this machine's, null when they
 * could not be read) hold no IPv4 network with a broadcast address (only
 * loopback, or nothing is up), the failure is that there is no network at
 * all: Deno reports that as "send UNKNOWN 255.255.255.255:9000", which tells a
 * person nothing. Otherwise the error is kept, with the network named.
 *
 * @example
 * sendProblem("255.255.255.255", error, [loopback]);
 * // "no network to search: this machine has no network interface with a broadcast address ..."
 */
export function sendProblem(
  target: string,
  error: Error,
  interfaces: Deno.NetworkInterfaceInfo[] | null,
  command: CommandFormat = documentedCommand,
): string {
  if (interfaces !== null && broadcastTargets(interfaces).length === 1) {
    return `${noNetworkPrefix}: this machine has no network interface with a broadcast address ` +
      `(only loopback?). Connect it to the LAN (cable or Wi-Fi), or join by address: ` +
      command("join", "HOST:PORT");
  }
  const code = (error as { code?: unknown }).code;
  const why = code === "ENETUNREACH" || code === "EHOSTUNREACH"
    ? "no route to that network"
    : code === "EACCES" || code === "EPERM"
    ? "not allowed (a firewall on this machine?)"
    : error.message;
  return `could not send to ${target}: ${why}; is the network it belongs to connected?`;
}

/** {@link broadcastTargets} of this machine; just 255.255.255.255 when interfaces cannot be read. */
export function defaultTargets(): string[] {
  try {
    return broadcastTargets(Deno.networkInterfaces());
  } catch {
    return [limitedBroadcast];
  }
}

function closeSocket(socket: dgram.Socket): Promise<void> {
  return new Promise<void>((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // Not running: nothing to close.
    }
  });
}

/**
 * Sends the discovery probe (twice: again after a third of `timeoutMs`, as
 * UDP may lose one) and collects answers for `timeoutMs`. Repeated
 * answers from the same address and port are merged into one entry. The
 * same start `id` from another address or port is NOT merged: anyone on the
 * network can copy an id, and a faster copy would be joined without a word
 * (issue #12); such entries are marked `sameIdElsewhere`. Malformed answers
 * are ignored. Resolves with the servers in the
 * order they first answered; never rejects for network trouble (each
 * failure goes to `onProblem`).
 *
 * @example
 * const servers = await discoverServers({ timeoutMs: 1000 });
 * for (const server of servers) console.log(server.name, server.addresses[0], server.port);
 */
export async function discoverServers(options: DiscoverOptions = {}): Promise<FoundServer[]> {
  const port = options.port ?? defaultDiscoveryPort;
  const timeoutMs = options.timeoutMs ?? 1000;
  const targets = options.targets ?? defaultTargets();
  const told = new Set<string>();
  const onProblem = (problem: string) => {
    // The probe goes out twice: a network that refuses it is said once.
    if (told.has(problem)) return;
    told.add(problem);
    options.onProblem?.(problem);
  };
  const readInterfaces = options.interfaces ?? (() => Deno.networkInterfaces());
  const found = new Map<string, FoundServer>();
  const enough = Promise.withResolvers<void>();

  const socket = dgram.createSocket({ type: "udp4" });
  socket.on("message", (datagram: Uint8Array, remote: dgram.RemoteInfo) => {
    const here = parseHere(datagram);
    if (here === null) return;
    const key = `${remote.address} ${here.port}`;
    if (!found.has(key)) {
      found.set(key, { ...here, addresses: [remote.address], sameIdElsewhere: 0 });
      if (options.maxServers !== undefined && found.size >= options.maxServers) enough.resolve();
    }
  });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(0, () => {
        socket.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    await closeSocket(socket);
    onProblem(`cannot open a UDP socket: ${error instanceof Error ? error.message : error}`);
    return [];
  }
  // Without a listener an 'error' event would throw and end the process.
  socket.on("error", (error: Error) => onProblem(`discovery socket: ${error.message}`));
  let timer: ReturnType<typeof setTimeout> | undefined;
  let resend: ReturnType<typeof setTimeout> | undefined;
  try {
    socket.setBroadcast(true);
    const sendProbes = () =>
      Promise.all(targets.map((target) =>
        new Promise<void>((resolve) => {
          socket.send(probeBytes, port, target, (error: Error | null) => {
            if (error !== null) {
              let interfaces: Deno.NetworkInterfaceInfo[] | null = null;
              try {
                interfaces = readInterfaces();
              } catch {
                // Not allowed to look: say what the socket said.
              }
              onProblem(sendProblem(target, error, interfaces, options.command));
            }
            resolve();
          });
        })
      ));
    const sends = sendProbes();
    // UDP may lose a probe (a busy network, a server's full queue): one more,
    // a third of the way in, costs little; answers to both are merged.
    resend = setTimeout(() => void sendProbes(), Math.floor(timeoutMs / 3));
    const timeout = new Promise<void>((resolve) => timer = setTimeout(resolve, timeoutMs));
    await Promise.all([sends, Promise.race([timeout, enough.promise])]);
  } finally {
    clearTimeout(timer);
    clearTimeout(resend);
    await closeSocket(socket);
  }
  const servers = [...found.values()];
  for (const server of servers) {
    if (server.id === null) continue;
    server.sameIdElsewhere = servers.filter((other) => other !== server && other.id === server.id)
      .length;
  }
  return servers;
}

/** The warning for entries that share an id, or null when none do. */
export function sameIdWarning(
  servers: FoundServer[],
  command: CommandFormat = documentedCommand,
): string | null {
  const shared = servers.filter((server) => server.sameIdElsewhere > 0);
  if (shared.length === 0) return null;
  return `note: ${shared.length} answers (marked *) claim to be the same server from different ` +
    "addresses. It may be one server on two networks, or someone pretending to be it: " +
    `join by the address you know (\`${command("serve")}\` prints it).`;
}

/** `ADDRESS:PORT` to give `lanchat join`. */
export function joinAddress(server: FoundServer, address = server.addresses[0] ?? ""): string {
  return `${address}:${server.port}`;
}

/** The web page address (`http://ADDRESS:WEB/`), or null without the web page. */
export function webAddress(
  server: FoundServer,
  address = server.addresses[0] ?? "",
): string | null {
  return server.web === null ? null : `http://${address}:${server.web}/`;
}

/** One `--json` line of `lanchat discover`. */
export interface DiscoverJsonLine {
  name: string;
  /** `ADDRESS:PORT` of the first address, ready for `lanchat join`. */
  join: string;
  addresses: string[];
  port: number;
  web: number | null;
  /** Web page of the first address, or null. */
  url: string | null;
  secure: boolean;
  users: number;
  /** Other answers with the same server id from another address (see FoundServer). */
  sameIdElsewhere: number;
  /** The fingerprint of the server's key, or null (an older server). */
  key: string | null;
}

/**
 * The discover table: a header, then one row per server (extra addresses on
 * rows of their own). Room names are made inert: a hostile answer cannot
 * move the cursor.
 */
export function formatServerTable(servers: FoundServer[]): string[] {
  const rows: string[][] = [["NAME", "ADDRESS", "WEB", "SECURE", "USERS", "KEY"]];
  for (const server of servers) {
    server.addresses.forEach((address, index) => {
      rows.push(
        index === 0
          ? [
            `${inert(server.name)}${server.sameIdElsewhere > 0 ? " *" : ""}`,
            joinAddress(server, address),
            webAddress(server, address) ?? "-",
            server.secure ? "yes" : "no",
            String(server.users),
            server.key === null ? "-" : server.key.slice(0, "SHA256:".length + 12),
          ]
          : ["", joinAddress(server, address), webAddress(server, address) ?? "", "", "", ""],
      );
    });
  }
  const widths = rows[0]!.map((_, column) =>
    Math.max(...rows.map((row) => [...(row[column] ?? "")].length))
  );
  return rows.map((row) =>
    row.map((cell, column) =>
      column === row.length - 1 ? cell : cell + " ".repeat(widths[column]! - [...cell].length)
    ).join("  ").trimEnd()
  );
}

/**
 * What to try when no server answered; `port` is the discovery port,
 * `command` how the commands are written (default `lanchat ...`).
 */
export function noServerAdvice(port: number, command: CommandFormat = documentedCommand): string[] {
  const serve = command("serve");
  return [
    "What to try:",
    `  - Is \`${serve}\` running, on the same network as this machine (same switch or Wi-Fi,`,
    "    not a guest network)? Routers and Wi-Fi client isolation do not pass broadcasts.",
    `  - The server's firewall must let UDP port ${port} in: run \`${command("firewall")}\` there.`,
    `  - Give the address instead: \`${command("join", "ADDRESS")}\` (\`${serve}\` prints it), and`,
    `    \`${command("doctor", "ADDRESS")}\` to see what is in the way.`,
    `  - Slow network? Wait longer: \`${command("discover", "--timeout", "3000")}\`.`,
  ];
}

/** Flags of `lanchat discover`, as parsed by main.ts. */
export interface DiscoverFlags {
  /** How long to wait for answers, in ms (`--timeout`). Default 1000. */
  timeout?: number;
  /** One JSON object per server instead of a table (`--json`). Default false. */
  json?: boolean;
  /** UDP discovery port (`--port`). Default 9000. */
  port?: number;
  /** Where to send the probe. Default: every broadcast address (no flag; for tests). */
  targets?: string[];
  /**
   * How suggested commands are written (no flag). Default: documentedCommand
   * (`lanchat join ...`); main.ts passes lanchatCommand, the form that runs here.
   */
  command?: CommandFormat;
}

/**
 * Runs `lanchat discover`: prints the servers found (a table, or JSON lines
 * with `json`) to `output.out` and returns 0; when none answered, prints why
 * and what to try to `output.err` and returns 1.
 */
export async function runDiscover(
  flags: DiscoverFlags,
  output: { out: (line: string) => void; err: (line: string) => void },
): Promise<number> {
  const port = flags.port ?? defaultDiscoveryPort;
  const timeoutMs = flags.timeout ?? 1000;
  const targets = flags.targets ?? defaultTargets();
  const command = flags.command ?? documentedCommand;
  const problems: string[] = [];
  const servers = await discoverServers({
    port,
    timeoutMs,
    targets,
    onProblem: (problem) => problems.push(problem),
    command,
  });
  const noNetwork = problems.find((problem) => problem.startsWith(noNetworkPrefix));
  if (servers.length === 0 && noNetwork !== undefined) {
    // Nothing was sent anywhere: the advice about servers and firewalls does not apply.
    output.err(noNetwork);
    return 1;
  }
  if (servers.length === 0) {
    output.err(
      `no lanchat server answered within ${timeoutMs} ms ` +
        `(asked UDP port ${port} at ${targets.join(", ")}).`,
    );
    for (const problem of problems) output.err(`  (${problem})`);
    for (const line of noServerAdvice(port, command)) output.err(line);
    return 1;
  }
  if (flags.json === true) {
    for (const server of servers) {
      const line: DiscoverJsonLine = {
        name: server.name,
        join: joinAddress(server),
        addresses: server.addresses,
        port: server.port,
        web: server.web,
        url: webAddress(server),
        secure: server.secure,
        users: server.users,
        sameIdElsewhere: server.sameIdElsewhere,
        key: server.key,
      };
      output.out(JSON.stringify(line));
    }
    return 0;
  }
  for (const line of formatServerTable(servers)) output.out(line);
  const warning = sameIdWarning(servers, command);
  if (warning !== null) output.out(warning);
  const first = servers[0]!;
  output.out(
    servers.length === 1
      ? `join it with: ${command("join", joinAddress(first))}   (or just: ${command("join")})`
      : `join one with: ${command("join", "ADDRESS:PORT")}   (or pick from a list: ${
        command("join")
      })`,
  );
  return 0;
}
