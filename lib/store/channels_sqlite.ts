/**
 * Channels in a lanchat history file (schema version 3 of
 * lib/store/history_sqlite.ts): the server's `Channels`.
 *
 * Owns: the SQL of channels, their look-alike skeletons and their members.
 * Channel rows are few (`--max-channels`) and only this server writes them,
 * so they are also kept in memory; memberships are read from the file.
 * Imports only lib/store/channels.ts, lib/store/history_errors.ts and node:sqlite;
 * must not import the room, sessions or sockets.
 */
import type { DatabaseSync } from "node:sqlite";
import { type Row, Statements } from "./sqlite_statements.ts";
import { type Channel, channelKey, type Channels, general } from "./channels.ts";

/** Channels over a history file's connection (the caller opens, migrates and closes it). */
export class SqliteChannels implements Channels {
  readonly #sql: Statements;
  /** Every channel but `#general`, by id, read once. */
  #byId: Map<number, Channel>;

  constructor(db: DatabaseSync, path: string) {
    this.#sql = new Statements(db, path);
    this.#byId = new Map(
      this.#sql.all("SELECT id, name, topic, created FROM channels ORDER BY id").map((row) => {
        const channel = toChannel(row);
        return [channel.id, channel];
      }),
    );
  }

  byName(name: string): Channel | null {
    const key = channelKey(name);
    if (key === channelKey(general.name)) return { ...general };
    for (const channel of this.#byId.values()) {
      if (channelKey(channel.name) === key) return { ...channel };
    }
    return null;
  }

  byId(id: number): Channel | null {
    if (id === general.id) return { ...general };
    const channel = this.#byId.get(id);
    return channel === undefined ? null : { ...channel };
  }

  lookalike(skeletons: string[]): Channel | null {
    for (const skeleton of skeletons) {
      const row =
        this.#sql.all("SELECT channel_id FROM channel_skeletons WHERE skeleton = ?", skeleton)[
          0
        ];
      if (row !== undefined) return this.byId(Number(row.channel_id));
    }
    return null;
  }

  create(name: string, skeletons: string[], accountId: number, now: number): Channel {
    const channel = this.#sql.write(() => {
      const { lastInsertRowid } = this.#sql.prepared(
        "INSERT INTO channels (name, name_key, topic, created) VALUES (?, ?, '', ?)",
      ).run(name, channelKey(name), now);
      const channel: Channel = { id: Number(lastInsertRowid), name, topic: "", created: now };
      const insert = this.#sql.prepared(
        "INSERT OR IGNORE INTO channel_skeletons (skeleton, channel_id) VALUES (?, ?)",
      );
      for (const skeleton of skeletons) insert.run(skeleton, channel.id);
      this.#sql.prepared(
        "INSERT INTO channel_members (channel_id, account_id, joined) VALUES (?, ?, ?)",
      ).run(channel.id, accountId, now);
      return channel;
    });
    this.#byId.set(channel.id, channel); // once committed
    return { ...channel };
  }

  list(): Channel[] {
    return [{ ...general }, ...[...this.#byId.values()].map((channel) => ({ ...channel }))];
  }

  memberCount(id: number): number {
    return Number(
      this.#sql.all("SELECT count(*) AS n FROM channel_members WHERE channel_id = ?", id)[0]?.n ??
        0,
    );
  }

  members(id: number): number[] {
    return this.#sql.all("SELECT account_id FROM channel_members WHERE channel_id = ?", id).map((
      row,
    ) => Number(row.account_id));
  }

  channelsOf(accountId: number): number[] {
    return this.#sql.all(
      "SELECT channel_id FROM channel_members WHERE account_id = ? ORDER BY channel_id",
      accountId,
    ).map((row) => Number(row.channel_id));
  }

  join(id: number, accountId: number, now: number): void {
    this.#sql.write(() =>
      this.#sql.prepared(
        "INSERT OR IGNORE INTO channel_members (channel_id, account_id, joined) VALUES (?, ?, ?)",
      ).run(id, accountId, now)
    );
  }

  part(id: number, accountId: number): void {
    this.#sql.write(() =>
      this.#sql.prepared("DELETE FROM channel_members WHERE channel_id = ? AND account_id = ?").run(
        id,
        accountId,
      )
    );
  }

  setTopic(id: number, topic: string): void {
    this.#sql.write(() =>
      this.#sql.prepared("UPDATE channels SET topic = ? WHERE id = ?").run(topic, id)
    );
    const channel = this.#byId.get(id);
    if (channel !== undefined) channel.topic = topic;
  }

  count(): number {
    return this.#byId.size;
  }
}

function toChannel(row: Row): Channel {
  return {
    id: Number(row.id),
    name: String(row.name),
    topic: String(row.topic),
    created: Number(row.created),
  };
}
