/**
 * Load that the abuse benchmark and the hardening tests both generate:
 * connections from many loopback source addresses (Linux routes all of
 * 127.0.0.0/8 to the loopback interface) and a history file full enough
 * that searching it costs something.
 *
 * Owns: nothing the product uses; traffic stays on 127.0.0.0/8. Used by
 * scripts/bench_abuse*.ts and tests/fixtures/abuse.ts; imports from lib/
 * only the SQLite store and the BASE64 body encoding, to write the history
 * as a server would.
 */
import net from "node:net";
import { openSqliteHistory } from "../lib/store/history_sqlite.ts";
import { encodeBody } from "../lib/wire/protocol.ts";

/** The `n`-th loopback source address: 127.0.1.1, 127.0.1.2, ... (250 per /24). */
export function loopbackSource(n: number): string {
  return `127.0.${1 + Math.floor(n / 250)}.${1 + (n % 250)}`;
}

/**
 * A raw TCP connection from `localAddress` to 127.0.0.1:`port`; resolves
 * once connected. Later errors (resets by the server) are expected under
 * attack and never throw.
 */
export function connectFrom(
  localAddress: string,
  port: number,
  timeoutMs = 5000,
): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port, localAddress });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connect from ${localAddress} timed out`));
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.removeAllListeners("error");
      socket.on("error", () => {});
      resolve(socket);
    });
    socket.once("error", (error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    });
  });
}

/**
 * Writes `count` messages to a new history file at `path`, as a server would
 * have stored them: a few words with accents and CJK, so that "É" matches
 * about a third of them and a needle like "qz" none (a search that finds
 * nothing reads the most). The file is closed when this resolves.
 */
export async function fillSearchHistory(path: string, count: number): Promise<void> {
  const history = openSqliteHistory(path, { synchronous: "normal", maxBatchSize: 5000 });
  try {
    const words = ["École", "réunion", "déjà", "Ärger", "日本語", "build passed", "lunch?", "ok"];
    const appends: Promise<unknown>[] = [];
    for (let index = 0; index < count; index++) {
      const text = `${words[index % words.length]} message ${index} ${"lorem ipsum ".repeat(3)}`;
      appends.push(history.append({
        ts: 1_700_000_000_000 + index,
        from: `user${index % 50}`,
        to: null,
        kind: "text",
        text,
        body: encodeBody(text),
      }));
      if (appends.length === 5000) await Promise.all(appends.splice(0));
    }
    await Promise.all(appends);
  } finally {
    await history.close();
  }
}
