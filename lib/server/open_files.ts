/**
 * The process's open-file limit (RLIMIT_NOFILE): every connection is a file
 * descriptor, and the usual soft limit of 1,024 lets about a thousand
 * connections in before accept() fails.
 *
 * Owns: raising the soft limit to the hard limit at start where the OS
 * allows it (setrlimit through Deno's FFI, Linux and macOS; needs
 * --allow-ffi, which `serve` and the binary have), reading the limit
 * otherwise (/proc/self/limits), and how many connections it leaves room
 * for. Never throws: without FFI or on Windows it reports what it knows.
 * Imports nothing from lib/.
 */

/** The open-file limit after {@link raiseOpenFileLimit}. */
export interface OpenFileLimit {
  /** Soft limit now in force (the one that counts). */
  soft: number;
  /** Hard limit (the most the soft limit could be raised to). */
  hard: number;
  /** The soft limit before it was raised, or null when it was not changed. */
  raisedFrom: number | null;
}

/** Descriptors the server keeps besides connections: stdio, listeners, the database and its reader, discovery, timers. */
export const reservedDescriptors = 64;

const rlimitNofile: Partial<Record<string, number>> = { linux: 7, darwin: 8 };
/** macOS refuses soft limits above OPEN_MAX even when the hard limit is "unlimited". */
const darwinOpenMax = 10_240;
const unlimited = 0xffff_ffff_ffff_ffffn;

/**
 * Raises the soft open-file limit to the hard one when it is lower. Returns
 * the limit in force, or null when it cannot be known (Windows, no
 * permission to read it).
 */
export function raiseOpenFileLimit(): OpenFileLimit | null {
  const resource = rlimitNofile[Deno.build.os];
  if (resource === undefined) return null;
  let library: Deno.DynamicLibrary<typeof symbols> | null = null;
  try {
    library = Deno.dlopen(Deno.build.os === "darwin" ? "libSystem.dylib" : "libc.so.6", symbols);
  } catch {
    return readProcLimits(); // No --allow-ffi (or no libc by that name): report only.
  }
  try {
    const limit = new BigUint64Array(2);
    const bytes = new Uint8Array(limit.buffer);
    if (library.symbols.getrlimit(resource, bytes) !== 0) return readProcLimits();
    const soft = limit[0]!, hard = limit[1]!;
    let target = hard;
    if (Deno.build.os === "darwin" && (hard === unlimited || hard > BigInt(darwinOpenMax))) {
      target = BigInt(darwinOpenMax);
    }
    if (soft >= target) return { soft: toNumber(soft), hard: toNumber(hard), raisedFrom: null };
    limit[0] = target;
    if (library.symbols.setrlimit(resource, bytes) !== 0) {
      return { soft: toNumber(soft), hard: toNumber(hard), raisedFrom: null };
    }
    return { soft: toNumber(target), hard: toNumber(hard), raisedFrom: toNumber(soft) };
  } catch {
    return readProcLimits();
  } finally {
    library.close();
  }
}

const symbols = {
  getrlimit: { parameters: ["i32", "buffer"], result: "i32" },
  setrlimit: { parameters: ["i32", "buffer"], result: "i32" },
} as const;

function toNumber(value: bigint): number {
  return value >= BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(value);
}

/** The limit as /proc tells it (Linux), or null. */
function readProcLimits(): OpenFileLimit | null {
  try {
    const text = Deno.readTextFileSync("/proc/self/limits");
    const match = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text);
    if (match === null) return null;
    const read = (value: string) => value === "unlimited" ? Infinity : Number(value);
    return { soft: read(match[1]!), hard: read(match[2]!), raisedFrom: null };
  } catch {
    return null;
  }
}

/** How many connections `limit` leaves room for, after the server's own descriptors. */
export function connectionCeiling(limit: OpenFileLimit): number {
  return Math.max(0, limit.soft - reservedDescriptors);
}
