/**
 * `lanchat doctor [ADDRESS]`: from the joining side, checks what can stand
 * between this machine and a server, one line per check, each problem with
 * what to do about it.
 *
 * Owns: the checks (address, network, chat port speaking lanchat, discovery,
 * web page), their time limits and their advice. Imports lib/frame.ts, the
 * discovery client, lib/discovery/lan_addresses.ts, lib/client/ (address parsing),
 * lib/cli/ (inert printing, how suggested commands are written); never the server.
 */
import { lookup } from "node:dns/promises";
import { FrameDecoder, readChunkBytes } from "../frame.ts";
import { defaultDiscoveryPort } from "../discovery/discovery.ts";
import {
  defaultTargets,
  discoverServers,
  noNetworkPrefix,
  noServerAdvice,
} from "../discovery/discovery_client.ts";
import type { FoundServer } from "../discovery/discovery_client.ts";
import { ipv4ToNumber, lanAddresses } from "../discovery/lan_addresses.ts";
import type { LanAddress } from "../discovery/lan_addresses.ts";
import { formatAddress, parseAddress } from "../client/address.ts";
import { inert } from "../wire/inert_text.ts";
import { documentedCommand } from "../cli/run_command.ts";
import type { CommandFormat } from "../cli/run_command.ts";

/** How one check came out. Only "problem" in an essential check fails the doctor. */
export type CheckStatus = "ok" | "warning" | "problem" | "skipped";

/** The result of one check. */
export interface CheckResult {
  /** Short name: "address", "network", "chat", "discovery", "web page". */
  check: string;
  status: CheckStatus;
  /** What was found, and for a warning or problem what to do. Already inert. */
  detail: string;
  /** True for the checks a join needs (address, chat). */
  essential: boolean;
}

/** Flags of `lanchat doctor`, as parsed by main.ts. */
export interface DoctorFlags {
  /** The server as HOST or HOST:PORT. Default: the first server discovery finds. */
  address?: string;
  /** TCP chat port when the address has none (`--port`). Default 9000. */
  port?: number;
  /** Web port to try (`--web-port`) when discovery does not say. Default 9001. */
  webPort?: number;
  /** UDP discovery port (`--discovery-port`). Default 9000. */
  discoveryPort?: number;
  /** Time limit of each check, in ms (`--timeout`). Default 2000. */
  timeout?: number;
  /** Where a discovery without an address sends the probe. Default: every broadcast address. */
  targets?: string[];
  /**
   * How suggested commands are written (no flag). Default: documentedCommand
   * (`lanchat join ...`); main.ts passes lanchatCommand, the form that runs here.
   */
  command?: CommandFormat;
}

const isIpv4 = (host: string) => ipv4ToNumber(host) !== null;

/** The local address whose network holds `ip`, or null. */
export function localNetworkOf(ip: string, addresses: LanAddress[]): LanAddress | null {
  const target = ipv4ToNumber(ip);
  if (target === null) return null;
  for (const local of addresses) {
    const localNumber = ipv4ToNumber(local.address);
    if (localNumber === null || local.prefix < 1 || local.prefix > 32) continue;
    const size = 2 ** (32 - local.prefix);
    if (Math.floor(localNumber / size) === Math.floor(target / size)) return local;
  }
  return null;
}

/** Resolves with `promise`, or with `fallback` after `ms`; clears its timer either way. */
async function within<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<T>((resolve) => timer = setTimeout(() => resolve(fallback), ms)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function describeError(error: unknown): string {
  // fetch wraps the socket's error: "TypeError: fetch failed", cause ConnectionRefused.
  if (error instanceof TypeError && error.cause !== undefined) return describeError(error.cause);
  if (error instanceof Deno.errors.ConnectionRefused) return "connection refused";
  if (error instanceof Deno.errors.NetworkUnreachable) return "network unreachable";
  if (error instanceof Deno.errors.ConnectionReset) return "connection reset";
  const message = error instanceof Error ? error.message : String(error);
  if (/connection refused/i.test(message)) return "connection refused";
  if (/connection reset/i.test(message)) return "connection reset";
  if (/network is unreachable/i.test(message)) return "network unreachable";
  if (/no route to host|host is unreachable/i.test(message)) return "no route to host";
  return message.replace(/ \(os error \d+\)$/, "");
}

/** Finds the IP to check: the literal itself, or the first address `host` resolves to (IPv4 first). */
async function checkAddress(
  host: string,
  timeoutMs: number,
  command: CommandFormat,
): Promise<[CheckResult, string | null]> {
  const result = (status: CheckStatus, detail: string): CheckResult => ({
    check: "address",
    status,
    detail,
    essential: true,
  });
  if (isIpv4(host) || host.includes(":")) return [result("ok", `${host} (an IP address)`), host];
  const resolved = await within(
    lookup(host, { all: true }).then(
      (found) => found,
      (error: unknown) => error instanceof Error ? error : new Error(String(error)),
    ),
    timeoutMs,
    null,
  );
  if (resolved === null) {
    return [
      result(
        "problem",
        `looking up ${host} took over ${timeoutMs} ms. Use the IP address ` +
          `that \`${command("serve")}\` prints instead.`,
      ),
      null,
    ];
  }
  if (resolved instanceof Error || resolved.length === 0) {
    return [
      result(
        "problem",
        `cannot find the machine named ${host}. Check the spelling, or use ` +
          `the IP address that \`${command("serve")}\` prints (e.g. ${
            command("join", "192.168.1.20")
          }).`,
      ),
      null,
    ];
  }
  const ip = (resolved.find((entry) => entry.family === 4) ?? resolved[0]!).address;
  return [result("ok", `${host} is ${ip}`), ip];
}

function checkNetwork(ip: string): CheckResult {
  const result = (status: CheckStatus, detail: string): CheckResult => ({
    check: "network",
    status,
    detail,
    essential: false,
  });
  if (ip.startsWith("127.") || ip === "::1") return result("ok", `${ip} is this machine`);
  if (!isIpv4(ip)) return result("skipped", "IPv6 address: no subnet check");
  const addresses = lanAddresses();
  const local = localNetworkOf(ip, addresses);
  if (local !== null) {
    return result(
      "ok",
      `${ip} is on your network ${local.interface} (${local.address}/${local.prefix})`,
    );
  }
  const mine = addresses.map((address) => `${address.address}/${address.prefix}`).join(", ");
  return result(
    "warning",
    `${ip} is not on this machine's networks (${mine === "" ? "none found" : mine}). ` +
      "Joining by address works only if a router passes it; discovery never crosses routers.",
  );
}

/** Connects to the chat port and reads the `server` frame. Also says whether the host answered at all. */
async function checkChat(
  ip: string,
  port: number,
  timeoutMs: number,
  command: CommandFormat,
): Promise<[CheckResult, { hostAnswered: boolean }]> {
  const where = formatAddress({ host: ip, port });
  const result = (status: CheckStatus, detail: string): CheckResult => ({
    check: "chat",
    status,
    detail,
    essential: true,
  });
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({ hostname: ip, port, signal: abort.signal });
  } catch (error) {
    if (abort.signal.aborted) {
      return [
        result(
          "problem",
          `no answer from ${where} within ${timeoutMs} ms: the machine is off, not at this ` +
            `address, or its firewall drops TCP port ${port}. On the server, run \`${
              command("firewall")
            }\`.`,
        ),
        { hostAnswered: false },
      ];
    }
    const reason = describeError(error);
    if (reason === "connection refused") {
      return [
        result(
          "problem",
          `nothing listens on ${where} (connection refused; the machine itself answered). Is ` +
            `\`${command("serve")}\` running there, on port ${port}? Its banner shows the port.`,
        ),
        { hostAnswered: true },
      ];
    }
    return [
      result(
        "problem",
        `cannot reach ${where} (${reason}). Check the address and that this machine is on ` +
          "the same network (cable, Wi-Fi).",
      ),
      { hostAnswered: false },
    ];
  } finally {
    clearTimeout(timer);
  }
  try {
    const first = await within(readFirstPayload(conn), timeoutMs, null);
    if (first === null) {
      return [
        result(
          "problem",
          `${where} accepts connections but sent nothing within ${timeoutMs} ms: it is not ` +
            "lanchat (a lanchat server speaks first). Wrong port? lanchat's default is 9000.",
        ),
        { hostAnswered: true },
      ];
    }
    const server = parseServerFrame(first);
    if (server === null) {
      return [
        result(
          "problem",
          `${where} answers, but not with lanchat's protocol. Wrong port? lanchat's ` +
            "default is 9000.",
        ),
        { hostAnswered: true },
      ];
    }
    return [
      result(
        "ok",
        `${where} speaks lanchat: room "${inert(server.name)}", ${
          server.secure ? "room password needed" : "no room password"
        }`,
      ),
      { hostAnswered: true },
    ];
  } finally {
    try {
      conn.close();
    } catch {
      // Already closed by the read.
    }
  }
}

/** The first frame's payload, or an Error for a closed connection or bad framing. */
async function readFirstPayload(conn: Deno.TcpConn): Promise<Uint8Array | Error> {
  const decoder = new FrameDecoder();
  const buffer = new Uint8Array(readChunkBytes);
  try {
    for (let reads = 0; reads < 64; reads++) {
      const count = await conn.read(buffer);
      if (count === null) return new Error("closed");
      const payloads = decoder.push(buffer.subarray(0, count));
      if (payloads[0] !== undefined) return payloads[0];
    }
    return new Error("no frame in 64 reads");
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

function parseServerFrame(payload: Uint8Array | Error): { name: string; secure: boolean } | null {
  if (payload instanceof Error) return null;
  try {
    const message: unknown = JSON.parse(new TextDecoder().decode(payload));
    if (typeof message !== "object" || message === null) return null;
    const { type, proto, name, secure } = message as Record<string, unknown>;
    if (type !== "server" || proto !== 1 || typeof name !== "string") return null;
    return { name, secure: secure !== null && secure !== undefined };
  } catch {
    return null;
  }
}

async function checkDiscovery(
  ip: string,
  port: number,
  chatPort: number,
  timeoutMs: number,
  command: CommandFormat,
): Promise<[CheckResult, FoundServer | null]> {
  const result = (status: CheckStatus, detail: string): CheckResult => ({
    check: "discovery",
    status,
    detail,
    essential: false,
  });
  if (!isIpv4(ip)) return [result("skipped", "discovery is IPv4 only"), null];
  const found = await discoverServers({ targets: [ip], port, timeoutMs, maxServers: 1, command });
  const answer = found.find((server) => server.port === chatPort) ?? found[0];
  if (answer === undefined) {
    return [
      result(
        "warning",
        `no answer to a discovery probe on UDP ${ip}:${port} within ${timeoutMs} ms, so ` +
          `\`${command("join")}\` without an address will not find this server. It may run ` +
          `with --no-discovery or another --discovery-port, or its firewall drops UDP port ${port} ` +
          `(run \`${command("firewall")}\` there). Joining with the address still works.`,
      ),
      null,
    ];
  }
  if (answer.port !== chatPort) {
    return [
      result(
        "warning",
        `UDP ${ip}:${port} answered for room "${inert(answer.name)}" on chat port ` +
          `${answer.port}, not ${chatPort}: try ${
            command("join", formatAddress({ host: ip, port: answer.port }))
          }`,
      ),
      answer,
    ];
  }
  return [
    result(
      "ok",
      `UDP ${ip}:${port} answered: room "${inert(answer.name)}", ${answer.users} online`,
    ),
    answer,
  ];
}

async function checkWeb(
  ip: string,
  webPort: number | null,
  timeoutMs: number,
  command: CommandFormat,
): Promise<CheckResult> {
  const result = (status: CheckStatus, detail: string): CheckResult => ({
    check: "web page",
    status,
    detail,
    essential: false,
  });
  if (webPort === null) return result("skipped", "the server says it has no web page (--no-web)");
  const url = `http://${formatAddress({ host: ip, port: webPort })}/`;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    const response = await fetch(url, { signal: abort.signal, redirect: "manual" });
    await response.body?.cancel();
    if (response.ok) return result("ok", `${url} answers (HTTP ${response.status})`);
    return result(
      "warning",
      `${url} answers HTTP ${response.status}, not the chat page: another program may use ` +
        `port ${webPort}.`,
    );
  } catch (error) {
    const why = abort.signal.aborted ? `no answer within ${timeoutMs} ms` : describeError(error);
    return result(
      "warning",
      `${url}: ${why}. The server may run with --no-web or another --web-port, or its firewall ` +
        `drops TCP port ${webPort} (run \`${
          command("firewall")
        }\` there). The terminal client does ` +
        "not need it.",
    );
  } finally {
    clearTimeout(timer);
  }
}

/** Options of {@link doctorChecks}. */
export interface DoctorCheckOptions {
  host: string;
  port: number;
  /** Web port to try when discovery does not say. */
  webPort: number;
  discoveryPort: number;
  /** Time limit of each check, in ms. */
  timeoutMs: number;
  /** How suggested commands are written. Default: documentedCommand (`lanchat join ...`). */
  command?: CommandFormat;
}

/**
 * Runs every check against `host:port` and returns the results in the order
 * they are shown. The chat and discovery checks run at the same time; the
 * web check follows (using the web port discovery reported, if any).
 */
export async function doctorChecks(options: DoctorCheckOptions): Promise<CheckResult[]> {
  const { port, discoveryPort, timeoutMs } = options;
  const command = options.command ?? documentedCommand;
  const [address, ip] = await checkAddress(options.host, timeoutMs, command);
  if (ip === null) return [address];
  const network = checkNetwork(ip);
  const [[chat, reach], [discovery, answer]] = await Promise.all([
    checkChat(ip, port, timeoutMs, command),
    checkDiscovery(ip, discoveryPort, port, timeoutMs, command),
  ]);
  const web: CheckResult = !reach.hostAnswered && answer === null
    ? {
      check: "web page",
      status: "skipped",
      detail: "the machine did not answer at all",
      essential: false,
    }
    : await checkWeb(ip, answer === null ? options.webPort : answer.web, timeoutMs, command);
  return [address, network, chat, discovery, web];
}

/** One result as a line: status, check name, detail. */
export function formatCheck(result: CheckResult): string {
  return `${result.status.padEnd(8)} ${result.check.padEnd(10)} ${result.detail}`;
}

/**
 * Runs `lanchat doctor`: without an address, first finds a server by
 * discovery. Prints one line per check to `output.out` and a verdict.
 * Returns 0 when the essential checks (address, chat) pass, 1 when one
 * fails or no server was found, 2 for an address that cannot be read.
 */
export async function runDoctor(
  flags: DoctorFlags,
  output: { out: (line: string) => void; err: (line: string) => void },
): Promise<number> {
  const timeoutMs = flags.timeout ?? 2000;
  const discoveryPort = flags.discoveryPort ?? defaultDiscoveryPort;
  const command = flags.command ?? documentedCommand;
  let target: { host: string; port: number };
  if (flags.address === undefined || flags.address.trim() === "") {
    const targets = flags.targets ?? defaultTargets();
    output.out(`lanchat doctor: no address given, looking for servers (UDP port ${discoveryPort})`);
    const problems: string[] = [];
    const found = await discoverServers({
      port: discoveryPort,
      timeoutMs,
      targets,
      onProblem: (problem) => problems.push(problem),
      command,
    });
    const first = found[0];
    if (first === undefined) {
      const noNetwork = problems.find((problem) => problem.startsWith(noNetworkPrefix));
      output.out(
        formatCheck({
          check: "discovery",
          status: "problem",
          // With no network nothing was sent: say so, not whom it "asked".
          detail: noNetwork ??
            `no server answered within ${timeoutMs} ms (asked ${targets.join(", ")})`,
          essential: true,
        }),
      );
      if (noNetwork !== undefined) return 1; // The advice about servers and firewalls does not apply.
      for (const problem of problems) output.out(`  (${problem})`);
      for (const line of noServerAdvice(discoveryPort, command)) output.out(line);
      return 1;
    }
    if (found.length > 1) {
      output.out(
        `${found.length} servers answered; checking the first. Check another with ` +
          `\`${command("doctor", "ADDRESS")}\`.`,
      );
    }
    target = { host: first.addresses[0] ?? "", port: first.port };
  } else {
    try {
      target = parseAddress(flags.address, flags.port ?? 9000);
    } catch (error) {
      output.err(`lanchat: ${error instanceof Error ? error.message : String(error)}`);
      return 2;
    }
  }

  output.out(`lanchat doctor: checking ${formatAddress(target)} from this machine`);
  const results = await doctorChecks({
    host: target.host,
    port: target.port,
    webPort: flags.webPort ?? 9001,
    discoveryPort,
    timeoutMs,
    command,
  });
  for (const result of results) output.out(formatCheck(result));
  const failed = results.filter((result) => result.essential && result.status === "problem");
  if (failed.length > 0) {
    output.out(
      `${failed.length === 1 ? "A" : failed.length} problem${failed.length === 1 ? "" : "s"} stop${
        failed.length === 1 ? "s" : ""
      } \`${command("join", formatAddress(target))}\`: see above.`,
    );
    return 1;
  }
  const warnings = results.filter((result) => result.status === "warning").length;
  output.out(
    `The essential checks passed: \`${command("join", formatAddress(target))}\` should work` +
      (warnings > 0 ? ` (${warnings} warning${warnings === 1 ? "" : "s"} above).` : "."),
  );
  return 0;
}
