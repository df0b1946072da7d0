/**
 * Channels and who is in them (PROTOCOL.md section 9): the `Channels`
 * interface the room uses, and an in-memory implementation.
 *
 * Owns: channel names and topics, membership by account (it survives
 * restarts and holds on every device), and `#general`, which is not stored:
 * everyone is in it, guests too, and it cannot be left. The skeletons of
 * names come from the caller (the store does not compute look-alikes).
 * Imports only lib/wire/protocol.ts; must not import the room, sessions or sockets.
 * The SQLite implementation is lib/store/channels_sqlite.ts.
 */
import { nickKey } from "../wire/protocol.ts";

/** A channel. `#general` has id 0. */
export interface Channel {
  id: number;
  /** With its `#`, as it was made. */
  name: string;
  topic: string;
  created: number;
}

/** `#general`: every server has it; everything of versions 1 and 2 is in it. */
export const general: Readonly<Channel> = { id: 0, name: "#general", topic: "", created: 0 };

/** How channel names compare: without regard to case, as nicks (PROTOCOL.md section 9.1). */
export function channelKey(name: string): string {
  return nickKey(name);
}

/** Where channels are kept. Every call is synchronous and cheap (the room calls them per request). */
export interface Channels {
  /** The channel named `name` (compared as names are), or null. `#general` always exists. */
  byName(name: string): Channel | null;
  /** The channel with this id, or null. */
  byId(id: number): Channel | null;
  /** A channel whose name has one of `skeletons`, or null. */
  lookalike(skeletons: string[]): Channel | null;
  /** Makes a channel (its maker joins it). */
  create(name: string, skeletons: string[], accountId: number, now: number): Channel;
  /** Every channel, `#general` first, then oldest first. */
  list(): Channel[];
  /** How many accounts are in channel `id` (for `#general`: 0, it counts everyone). */
  memberCount(id: number): number;
  /** The accounts in channel `id`. */
  members(id: number): number[];
  /** The channels `accountId` is in, `#general` not included. */
  channelsOf(accountId: number): number[];
  join(id: number, accountId: number, now: number): void;
  part(id: number, accountId: number): void;
  setTopic(id: number, topic: string): void;
  /** Channels besides `#general`. */
  count(): number;
}

/** True when `accountId` (null: a guest) is in channel `id`. */
export function isMember(channels: Channels, id: number, accountId: number | null): boolean {
  if (id === general.id) return true;
  return accountId !== null && channels.channelsOf(accountId).includes(id);
}

/** Channels in memory: for tests and servers whose history is in memory. */
export class MemoryChannels implements Channels {
  #channels = new Map<number, Channel>();
  #skeletons = new Map<number, string[]>();
  #members = new Map<number, Set<number>>();
  #nextId = 1;

  byName(name: string): Channel | null {
    const key = channelKey(name);
    if (key === channelKey(general.name)) return { ...general };
    for (const channel of this.#channels.values()) {
      if (channelKey(channel.name) === key) return { ...channel };
    }
    return null;
  }

  byId(id: number): Channel | null {
    if (id === general.id) return { ...general };
    const channel = this.#channels.get(id);
    return channel === undefined ? null : { ...channel };
  }

  lookalike(skeletons: string[]): Channel | null {
    for (const [id, owned] of this.#skeletons) {
      if (owned.some((skeleton) => skeletons.includes(skeleton))) return this.byId(id);
    }
    return null;
  }

  create(name: string, skeletons: string[], accountId: number, now: number): Channel {
    const channel: Channel = { id: this.#nextId++, name, topic: "", created: now };
    this.#channels.set(channel.id, channel);
    this.#skeletons.set(channel.id, skeletons);
    this.#members.set(channel.id, new Set([accountId]));
    return { ...channel };
  }

  list(): Channel[] {
    return [{ ...general }, ...[...this.#channels.values()].map((channel) => ({ ...channel }))];
  }

  memberCount(id: number): number {
    return this.#members.get(id)?.size ?? 0;
  }

  members(id: number): number[] {
    return [...this.#members.get(id) ?? []];
  }

  channelsOf(accountId: number): number[] {
    return [...this.#members].filter(([, members]) => members.has(accountId)).map(([id]) => id);
  }

  join(id: number, accountId: number): void {
    this.#members.get(id)?.add(accountId);
  }

  part(id: number, accountId: number): void {
    this.#members.get(id)?.delete(accountId);
  }

  setTopic(id: number, topic: string): void {
    const channel = this.#channels.get(id);
    if (channel !== undefined) channel.topic = topic;
  }

  count(): number {
    return this.#channels.size;
  }
}
