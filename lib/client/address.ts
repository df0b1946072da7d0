/**
 * Where `lanchat join` connects: parsing `HOST`, `HOST:PORT`, `[IPv6]:PORT`.
 *
 * Owns: the client's default host and port and the rules for reading an
 * address typed by a person. Pure: no sockets, no I/O.
 * Must not import anything outside lib/client/ (it needs nothing).
 */

/** TCP chat port used when neither the address nor `--port` names one (PROTOCOL.md section 7). */
export const defaultChatPort = 9000;

/**
 * Host used when the address text names none (`:9100`, or empty). `lanchat
 * join` with no address at all does not come here: it finds a server by LAN
 * discovery (lib/client/terminal/server_choice.ts).
 */
export const defaultHost = "127.0.0.1";

/** What parseAddress accepts, as the end of its error messages. */
const acceptedForms =
  "Give the server as HOST, HOST:PORT or [IPv6]:PORT, e.g. 192.168.1.20 or 192.168.1.20:9000";

/** A host and TCP port to connect to. */
export interface Address {
  /** Host name or IP literal, without brackets (e.g. `::1`, not `[::1]`). */
  host: string;
  port: number;
}

/**
 * Reads a port typed by a person: digits only, 1 to 65535.
 * Throws an Error whose message says what was wrong and what to type instead.
 *
 * @example
 * parsePort("9000"); // 9000
 */
export function parsePort(text: string, context?: string): number {
  const where = context === undefined ? "" : ` in "${context}"`;
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(
      `bad port "${text}"${where}: a port is a number from 1 to 65535. ${acceptedForms}`,
    );
  }
  return port;
}

/**
 * Reads `HOST`, `HOST:PORT`, `[IPv6]`, `[IPv6]:PORT` or a bare IPv6 literal
 * such as `::1`. A missing host becomes {@link defaultHost}; a missing port
 * becomes `defaultPort`. Throws an Error with a clear message for a bad port
 * or an empty bracketed host.
 *
 * @example
 * parseAddress("192.168.1.20:9100", 9000); // { host: "192.168.1.20", port: 9100 }
 * parseAddress("[::1]:9100", 9000);        // { host: "::1", port: 9100 }
 * parseAddress("::1", 9000);               // { host: "::1", port: 9000 }
 * parseAddress(undefined, 9000);           // { host: "127.0.0.1", port: 9000 }
 */
export function parseAddress(text: string | undefined, defaultPort: number): Address {
  const trimmed = (text ?? "").trim();
  if (trimmed === "") return { host: defaultHost, port: defaultPort };

  if (trimmed.startsWith("[")) {
    const match = /^\[([^\]]*)\](?::(.*))?$/.exec(trimmed);
    if (match === null) {
      throw new Error(
        `cannot read the address "${trimmed}": write an IPv6 address as [ADDRESS]:PORT, ` +
          `e.g. [::1]:9000. ${acceptedForms}`,
      );
    }
    const host = match[1] ?? "";
    if (host === "") {
      throw new Error(
        `the address "${trimmed}" has no host between the brackets, e.g. [::1]:9000. ${acceptedForms}`,
      );
    }
    const portText = match[2];
    return { host, port: portText === undefined ? defaultPort : parsePort(portText, trimmed) };
  }

  const colons = trimmed.split(":").length - 1;
  if (colons > 1) {
    // A bare IPv6 literal: every colon belongs to the address, none to a port.
    return { host: trimmed, port: defaultPort };
  }
  if (colons === 1) {
    const at = trimmed.indexOf(":");
    const host = trimmed.slice(0, at);
    return {
      host: host === "" ? defaultHost : host,
      port: parsePort(trimmed.slice(at + 1), trimmed),
    };
  }
  return { host: trimmed, port: defaultPort };
}

/**
 * Writes an address the way a person would type it back:
 * `192.168.1.20:9000`, `[::1]:9000`.
 */
export function formatAddress(address: Address): string {
  return address.host.includes(":")
    ? `[${address.host}]:${address.port}`
    : `${address.host}:${address.port}`;
}
