/**
 * HTTP/1.1 request heads (RFC 9112 sections 2 to 5): bytes -> method,
 * target, version and headers, or the status to refuse them with.
 *
 * Owns: finding the end of a head in a buffer, the request-line and field
 * syntax, and the header questions the web server asks (one value, a token
 * list, whether a body is announced). Strict where leniency is a smuggling
 * risk (spaces before a colon, folded lines, two Content-Lengths), lenient
 * where RFC 9112 allows it (bare LF line ends, empty lines before the
 * request line). Pure: no sockets, no lib/ imports.
 */

/** A parsed request head. */
export interface RequestHead {
  /** As sent, e.g. "GET" (methods are case-sensitive). */
  method: string;
  /** The request-target as sent, e.g. "/index.html?x=1". */
  target: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minorVersion: 0 | 1;
  /** Field values by lower-case name, in order of arrival. */
  headers: Map<string, string[]>;
}

/** A head that cannot be served, with the status to answer. */
export interface HeadProblem {
  status: 400 | 505;
  /** A sentence for the response body. */
  reason: string;
}

/**
 * Where the head in `bytes[0, length)` ends (the index after its blank line),
 * or -1 when it has not ended yet. Scanning starts at `from` (minus the 3
 * bytes a line end may straddle), so a caller that appends reads pays for
 * each byte once.
 */
export function findHeadEnd(bytes: Uint8Array, length: number, from = 0): number {
  // Empty lines before the request line do not end the head (RFC 9112 section 2.2).
  let start = 0;
  while (start < length && (bytes[start] === 0x0d || bytes[start] === 0x0a)) start++;
  for (let index = Math.max(start, from - 3); index < length; index++) {
    if (bytes[index] !== 0x0a) continue;
    const next = bytes[index + 1];
    if (index + 1 < length && next === 0x0a) return index + 2;
    if (index + 2 < length && next === 0x0d && bytes[index + 2] === 0x0a) return index + 3;
  }
  return -1;
}

const tokenPattern = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Visible ASCII and obs-text, spaces and tabs inside; no other control bytes. */
const fieldValuePattern = /^[\t\x20-\x7e\x80-\xff]*$/;
const targetPattern = /^[\x21-\x7e]+$/;
const latin1 = new TextDecoder("latin1");

/** Parses a whole head (as found by findHeadEnd). */
export function parseRequestHead(head: Uint8Array): RequestHead | HeadProblem {
  const lines = latin1.decode(head).replace(/^[\r\n]+/, "").split(/\r?\n/);
  // The blank line that ended the head leaves two empty strings at the end.
  while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  const requestLine = lines.shift() ?? "";
  const parts = requestLine.split(" ");
  if (parts.length !== 3) return bad("the request line is not METHOD TARGET HTTP/1.1");
  const [method = "", target = "", version = ""] = parts;
  if (!tokenPattern.test(method)) return bad("the request method is not a token");
  if (!targetPattern.test(target)) return bad("the request target has spaces or control bytes");
  const versionMatch = /^HTTP\/(\d)\.(\d)$/.exec(version);
  if (versionMatch === null) return bad("the request line does not end with an HTTP version");
  if (versionMatch[1] !== "1") {
    return { status: 505, reason: "this server speaks HTTP/1.1 (and 1.0) only" };
  }
  const headers = new Map<string, string[]>();
  for (const line of lines) {
    if (line.startsWith(" ") || line.startsWith("\t")) {
      return bad("folded header lines are not accepted");
    }
    const colon = line.indexOf(":");
    if (colon <= 0) return bad(`a header line has no name: ${JSON.stringify(line.slice(0, 40))}`);
    const name = line.slice(0, colon);
    if (!tokenPattern.test(name)) {
      return bad(`the header name ${JSON.stringify(name)} is not a token`);
    }
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
    if (!fieldValuePattern.test(value)) return bad(`the header ${name} has control bytes`);
    const key = name.toLowerCase();
    const values = headers.get(key);
    if (values === undefined) headers.set(key, [value]);
    else values.push(value);
  }
  return { method, target, minorVersion: versionMatch[2] === "0" ? 0 : 1, headers };
}

function bad(reason: string): HeadProblem {
  return { status: 400, reason };
}

/** True when `value` is a HeadProblem rather than a RequestHead. */
export function isHeadProblem(value: RequestHead | HeadProblem): value is HeadProblem {
  return "status" in value;
}

/**
 * The one value of header `name`: undefined when absent, null when sent more
 * than once (which, for Host or Origin, the caller refuses).
 */
export function singleHeader(head: RequestHead, name: string): string | undefined | null {
  const values = head.headers.get(name);
  if (values === undefined) return undefined;
  return values.length === 1 ? values[0]! : null;
}

/** The comma-separated tokens of every `name` header, lower case (Connection, Upgrade). */
export function headerTokens(head: RequestHead, name: string): string[] {
  const values = head.headers.get(name) ?? [];
  return values.flatMap((value) => value.split(","))
    .map((token) => token.trim().toLowerCase())
    .filter((token) => token !== "");
}

/**
 * Whether the request announces a body: "none", "body" (Content-Length above
 * 0 or any Transfer-Encoding), or "invalid" (a Content-Length that is not one
 * number).
 */
export function announcedBody(head: RequestHead): "none" | "body" | "invalid" {
  if (head.headers.has("transfer-encoding")) return "body";
  const lengths = head.headers.get("content-length");
  if (lengths === undefined) return "none";
  const distinct = new Set(lengths.flatMap((value) => value.split(",")).map((v) => v.trim()));
  if (distinct.size !== 1) return "invalid";
  const [only = ""] = distinct;
  if (!/^\d+$/.test(only)) return "invalid";
  return /^0+$/.test(only) ? "none" : "body";
}

/** True when the connection should stay open after this request's response. */
export function wantsKeepAlive(head: RequestHead): boolean {
  const connection = headerTokens(head, "connection");
  if (connection.includes("close")) return false;
  return head.minorVersion === 1 || connection.includes("keep-alive");
}
