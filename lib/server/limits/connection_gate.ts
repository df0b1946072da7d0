/**
 * Admission control shared by the chat port and the web port: how many
 * connections one address may hold, how many connections may be open
 * without having joined, and how many users one network may have in the room.
 *
 * Owns: the counts and the refusal sentences. One address cannot fill the
 * server's file descriptors or its memory with connections that never join,
 * and 16 addresses of one /24 cannot fill a 1,000-user room (Ergo limits per
 * CIDR the same way). Loopback and `--trusted-net` ranges are exempt from the
 * per-network limit, not from the per-address one. Knows nothing of sockets
 * or the room: it counts strings. Imports lib/server/limits/ip_networks.ts only (and the
 * SessionTicket type).
 */
import { inNetwork, isLoopbackAddress, networkKey } from "./ip_networks.ts";
import type { Network } from "./ip_networks.ts";
import type { SessionTicket } from "../session.ts";

/** Limits of a ConnectionGate. Every field documents its default. */
export interface GateLimits {
  /** Connections open at once from one address, both ports together. Default 64. */
  maxConnectionsPerIp: number;
  /**
   * Connections open at once that have not joined (yet), from all addresses:
   * bounds the memory such connections hold (each at most a small pre-join
   * frame). Default 2000.
   */
  maxPendingConnections: number;
  /** Users in the room from one /24 (IPv4) or /64 (IPv6). Default 256. */
  maxUsersPerNet: number;
  /** Ranges exempt from maxUsersPerNet (loopback always is). Default none. */
  trustedNets: Network[];
}

/** The defaults of GateLimits. */
export const defaultGateLimits: GateLimits = {
  maxConnectionsPerIp: 64,
  maxPendingConnections: 2000,
  maxUsersPerNet: 256,
  trustedNets: [],
};

/** An admitted connection. */
export interface Ticket extends SessionTicket {
  readonly ip: string;
  /** The connection closed: every count it held is given back. Safe to call more than once. */
  release(): void;
}

/** What admit() answers: a ticket, or the sentence to tell the refused peer. */
export type Admission = Ticket | { refused: string };

/**
 * Counts connections and users.
 *
 * @example
 * const admission = gate.admit(conn.remoteAddr.hostname);
 * if ("refused" in admission) return refuse(conn, admission.refused);
 * // ... when it closes:
 * admission.release();
 */
export class ConnectionGate {
  readonly limits: GateLimits;
  readonly #perIp = new Map<string, number>();
  readonly #usersPerNet = new Map<string, number>();
  #pending = 0;

  constructor(limits: Partial<GateLimits> = {}) {
    this.limits = { ...defaultGateLimits, ...limits };
  }

  /** Connections open that have not joined. */
  get pending(): number {
    return this.#pending;
  }

  /** Admits a new connection from `ip`, or says why not. */
  admit(ip: string): Admission {
    const open = this.#perIp.get(ip) ?? 0;
    if (open >= this.limits.maxConnectionsPerIp) {
      return {
        refused: `too many connections from ${ip} (at most ${this.limits.maxConnectionsPerIp}); ` +
          "close some and retry",
      };
    }
    if (this.#pending >= this.limits.maxPendingConnections) {
      return {
        refused: `the server has ${this.#pending} connections that have not joined yet; ` +
          "retry in a few seconds",
      };
    }
    this.#perIp.set(ip, open + 1);
    this.#pending++;
    let state: "pending" | "joined" | "released" = "pending";
    const net = this.#exempt(ip) ? null : networkKey(ip);
    return {
      ip,
      join: (): string | null => {
        if (state !== "pending") return null;
        if (net !== null) {
          const users = this.#usersPerNet.get(net) ?? 0;
          if (users >= this.limits.maxUsersPerNet) {
            return `too many users from your network ${net} (at most ${this.limits.maxUsersPerNet}); ` +
              "try later, or ask whoever runs the room to raise --max-users-per-net or to trust " +
              "your network with --trusted-net";
          }
          this.#usersPerNet.set(net, users + 1);
        }
        this.#pending--;
        state = "joined";
        return null;
      },
      leave: (): void => {
        if (state !== "joined") return;
        // Out of the room but still connected (a refused nick may try another): pending again.
        state = "pending";
        this.#pending++;
        if (net !== null) decrement(this.#usersPerNet, net);
      },
      release: (): void => {
        if (state === "released") return;
        if (state === "pending") this.#pending--;
        if (state === "joined" && net !== null) decrement(this.#usersPerNet, net);
        state = "released";
        decrement(this.#perIp, ip);
      },
    };
  }

  #exempt(ip: string): boolean {
    return isLoopbackAddress(ip) || this.limits.trustedNets.some((net) => inNetwork(ip, net));
  }
}

function decrement(counts: Map<string, number>, key: string): void {
  const left = (counts.get(key) ?? 1) - 1;
  if (left <= 0) counts.delete(key);
  else counts.set(key, left);
}
