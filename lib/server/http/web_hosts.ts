/**
 * Which Host names and which Origins the web port answers: the defence
 * against DNS rebinding (a name of the attacker's that resolves to this
 * machine) and cross-site WebSocket hijacking (another site's page opening
 * `/ws` through a colleague's browser).
 *
 * Owns: the Host rule (an address of this machine, loopback, `localhost`,
 * this machine's hostname, or a `--web-host` name), the Origin rule (none,
 * the page's own, or an `--allow-origin`), their refusal sentences, and
 * parsing those two flags. Imports lib/server/limits/ip_networks.ts (address parsing) and
 * commander's InvalidArgumentError (for the flag collectors); no sockets.
 */
import { InvalidArgumentError } from "commander";
import { inNetwork, isLoopbackAddress, parseNetwork } from "../limits/ip_networks.ts";
import type { Network } from "../limits/ip_networks.ts";

/** Options of {@link WebAccessRules}. Every field documents its default. */
export interface WebAccessOptions {
  /** Extra names (or addresses) the page is served under (`--web-host`). Default none. */
  webHosts?: readonly string[];
  /** Origins whose pages may open `/ws` (`--allow-origin`), as parseAllowedOrigin returns. Default none. */
  allowOrigins?: readonly string[];
  /** This machine's interface addresses. Default: from Deno.networkInterfaces(). */
  interfaceAddresses?: () => string[];
  /** This machine's name. Default: Deno.hostname(). */
  hostname?: () => string;
  /** How long the addresses and hostname are reused before they are read again, in ms. Default 5000. */
  refreshMs?: number;
  /** Clock for the refresh, in ms. Default performance.now. */
  now?: () => number;
}

/** The host part of a Host header (lower case, brackets removed) and its port. */
export interface HostHeader {
  name: string;
  port: number | null;
}

/** Parses a Host header value ("example:9001", "[::1]:9001"); null when it is not one. */
export function parseHostHeader(value: string): HostHeader | null {
  const bracketed = /^\[([0-9A-Fa-f:.]+(?:%25[\w.~-]+)?)\](?::(\d{1,5}))?$/.exec(value);
  const plain = /^([A-Za-z0-9._-]+)(?::(\d{1,5}))?$/.exec(value);
  const match = bracketed ?? plain;
  if (match === null) return null;
  const port = match[2] === undefined ? null : Number(match[2]);
  if (port !== null && port > 65535) return null;
  return { name: match[1]!.toLowerCase().replace(/%25/, "%"), port };
}

/**
 * The Host and Origin rules of one web server.
 *
 * @example
 * const rules = new WebAccessRules({ webHosts: ["chat.lan"] });
 * rules.hostProblem("chat.lan:9001"); // null: answered
 * rules.originProblem("https://evil.example", "http", "chat.lan:9001"); // a sentence: refused
 */
export class WebAccessRules {
  readonly #names: Set<string>;
  readonly #addresses: Network[];
  readonly #allowOrigins: Set<string>;
  readonly #interfaceAddresses: () => string[];
  readonly #hostname: () => string;
  readonly #refreshMs: number;
  readonly #now: () => number;
  #machine: { at: number; names: Set<string>; addresses: Network[] } | null = null;

  constructor(options: WebAccessOptions = {}) {
    this.#names = new Set();
    this.#addresses = [];
    for (const host of options.webHosts ?? []) {
      const address = ipLiteral(host);
      if (address !== null) this.#addresses.push(address);
      else this.#names.add(normalizeName(host));
    }
    this.#allowOrigins = new Set(options.allowOrigins ?? []);
    this.#interfaceAddresses = options.interfaceAddresses ?? defaultInterfaceAddresses;
    this.#hostname = options.hostname ?? defaultHostname;
    this.#refreshMs = options.refreshMs ?? 5000;
    this.#now = options.now ?? (() => performance.now());
  }

  /**
   * Null when the Host header names this machine; otherwise the sentence of
   * the 421 answer. The header itself must be present and valid (400 else,
   * which the caller decides).
   */
  hostProblem(host: HostHeader): string | null {
    if (this.#namesThisMachine(host.name)) return null;
    const shown = host.name.includes(":") ? `[${host.name}]` : host.name;
    return `this server does not answer to the name ${shown}: it is not an address or name of ` +
      `this machine (a page reaching it under a foreign name may be a DNS rebinding attack). ` +
      `If ${shown} is a right name for this machine, start lanchat serve with --web-host ${shown}.`;
  }

  /**
   * Null when a WebSocket upgrade with this Origin header may proceed:
   * no Origin (scripts), the page's own origin (`scheme` and the request's
   * Host), or one given with `--allow-origin`. Otherwise the sentence of the
   * 403 answer.
   */
  originProblem(origin: string | undefined, scheme: "http" | "https", host: string): string | null {
    if (origin === undefined) return null;
    const normalized = normalizeOrigin(origin);
    if (normalized !== null) {
      if (normalized === normalizeOrigin(`${scheme}://${host}`)) return null;
      if (this.#allowOrigins.has(normalized)) return null;
    }
    const shown = normalized ?? JSON.stringify(origin.slice(0, 100));
    return `a page from ${shown} may not open this chat's WebSocket: only the page this server ` +
      `serves may (another site could act in the room through your browser). If that page is ` +
      `meant to, start lanchat serve with --allow-origin ${normalized ?? "ORIGIN"}.`;
  }

  #namesThisMachine(name: string): boolean {
    const address = ipLiteral(name);
    const machine = this.#machineNow();
    if (address !== null) {
      const text = address.text.replace(/\/\d+$/, "");
      if (isLoopbackAddress(text)) return true;
      const same = (known: Network) => inNetwork(text, known);
      return machine.addresses.some(same) || this.#addresses.some(same);
    }
    const plain = normalizeName(name);
    if (plain === "localhost" || plain.endsWith(".localhost")) return true;
    return machine.names.has(plain) || this.#names.has(plain);
  }

  /** This machine's addresses and names, read again when older than refreshMs. */
  #machineNow(): { names: Set<string>; addresses: Network[] } {
    const now = this.#now();
    if (this.#machine !== null && now - this.#machine.at < this.#refreshMs) return this.#machine;
    const addresses: Network[] = [];
    for (const text of safely(this.#interfaceAddresses, [])) {
      const address = ipLiteral(text);
      if (address !== null) addresses.push(address);
    }
    const names = new Set<string>();
    const hostname = normalizeName(safely(this.#hostname, ""));
    if (hostname !== "") {
      const short = hostname.split(".")[0]!;
      for (const name of [hostname, `${hostname}.local`, short, `${short}.local`]) names.add(name);
    }
    this.#machine = { at: now, names, addresses };
    return this.#machine;
  }
}

/** Lower case, without one trailing dot ("Box.local." -> "box.local"). */
function normalizeName(name: string): string {
  return name.toLowerCase().replace(/\.$/, "");
}

/** The address as a one-address network when `text` is an IP literal, else null. */
function ipLiteral(text: string): Network | null {
  if (!/^\[?[0-9A-Fa-f:.]+(%[\w.~-]+)?\]?$/.test(text)) return null;
  try {
    return parseNetwork(text.replace(/^\[|\]$/g, ""));
  } catch {
    return null;
  }
}

function defaultInterfaceAddresses(): string[] {
  return Deno.networkInterfaces().map((info) => info.address);
}

function defaultHostname(): string {
  return Deno.hostname();
}

function safely<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    // No permission, or no such call on this OS: only the fixed names apply.
    return fallback;
  }
}

/** `scheme://host[:port]` as browsers send it in Origin, or null when it is not an http(s) origin. */
function normalizeOrigin(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return null;
  return url.origin;
}

/**
 * Checks an `--allow-origin` value and returns it as browsers send it
 * (lower-case host, no default port). Throws a RangeError saying how to write it.
 */
export function parseAllowedOrigin(text: string): string {
  const problem = `'${text}' is not an origin: write it as scheme://host[:port], ` +
    "e.g. http://intranet.example:8080 (no path)";
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RangeError(problem);
  }
  if (
    (url.protocol !== "http:" && url.protocol !== "https:") || url.username !== "" ||
    url.password !== "" || url.search !== "" || url.hash !== "" ||
    !/^https?:\/\/[^/?#]+\/?$/i.test(text)
  ) {
    throw new RangeError(problem);
  }
  return url.origin;
}

/** Checks a `--web-host` value: a DNS name or an IP address. Throws a RangeError when it is neither. */
export function parseWebHostName(text: string): string {
  const name = normalizeName(text.trim());
  const label = "[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?";
  if (ipLiteral(name) !== null || new RegExp(`^${label}(?:\\.${label})*$`).test(name)) return name;
  throw new RangeError(
    `'${text}' is not a host name: give the name (or address) people type in the browser, ` +
      "without scheme or port, e.g. --web-host chat.office.lan",
  );
}

/** A repeatable `--allow-origin ORIGIN` flag: each use adds one origin. */
export function collectAllowedOrigin(value: string, previous: string[] = []): string[] {
  try {
    return [...previous, parseAllowedOrigin(value)];
  } catch (error) {
    throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
  }
}

/** A repeatable `--web-host NAME` flag: each use adds one name. */
export function collectWebHost(value: string, previous: string[] = []): string[] {
  try {
    return [...previous, parseWebHostName(value)];
  } catch (error) {
    throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
  }
}
