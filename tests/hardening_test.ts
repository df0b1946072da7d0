/**
 * Issue #12 over real sockets: one address must not be able to freeze, fill
 * or crash the server. Guessing room passwords, filling the disk with text,
 * searching as fast as possible, asking for more answers than the outbox
 * holds, connections that never join, frames announced and never sent.
 * (The web port's floods are in tests/web_hardening_test.ts; discovery's in
 * tests/discovery_test.ts; the store's in tests/cli_store_test.ts and history_*_test.ts.)
 *
 * @run-alone: its ping-latency bounds (tens of ms) hold on a quiet machine, not
 * beside Chromium and tmux tests on two busy cores, so `deno task test` runs
 * this file after the others, by itself (scripts/test.ts).
 */
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { startTestServer, TestClient, testRoomKey, withDeadline } from "./_helpers.ts";
import type { Received } from "./_helpers.ts";
import { createRoomKey } from "../lib/wire/room_key.ts";
import { openSqliteHistory } from "../lib/store/history_sqlite.ts";
import { encodeBody } from "../lib/wire/protocol.ts";
import {
  closeAll,
  connectFrom,
  jsonFrame,
  loopbackSource,
  rssMb,
  serveUnderFileLimit,
} from "./fixtures/abuse.ts";
import { serveOnLoopback, spawnProcess } from "./fixtures/client_process.ts";
import { fillSearchHistory } from "../scripts/loopback_load.ts";
import type net from "node:net";

const isError = (code: string) => (message: Received) =>
  message.type === "error" && message.code === code;

Deno.test("wrong room passwords sent in parallel cannot pass the limit: guesses in flight count", async () => {
  const key = await testRoomKey("the real room password");
  const wrong = await createRoomKey("a guess at the password");
  await using server = await startTestServer({
    roomKey: key,
    authLimits: { maxFailures: 6, maxDelayMs: 1000 },
  });
  // Two waves of 24 at once from one address; before, the first wave's guesses were all
  // checked (none had failed yet when each was admitted).
  const codes: string[] = [];
  for (let wave = 0; wave < 2; wave++) {
    const guessers = await Promise.all(
      Array.from({ length: 24 }, () => TestClient.connect(server.port)),
    );
    try {
      await Promise.all(guessers.map((guesser) => guesser.next("server")));
      const answers = await Promise.all(
        guessers.map((guesser) => guesser.handshake(wrong.psk, 8000)),
      );
      for (const answer of answers) codes.push(String(answer?.code));
    } finally {
      await Promise.all(guessers.map((guesser) => guesser[Symbol.asyncDispose]()));
    }
  }
  const checked = codes.filter((code) => code === "auth_failed").length;
  assertEquals(checked, 6, `only maxFailures guesses are checked: ${codes.join(" ")}`);
  assertEquals(codes.filter((code) => code === "rate_limited").length, 42);
});

Deno.test("wrong room passwords from one address are slowed, then refused; the log sums them up", async () => {
  const key = await testRoomKey("the real room password");
  const wrong = await createRoomKey("a guess at the password");
  const log: string[] = [];
  await using server = await startTestServer({
    roomKey: key,
    log: (line) => log.push(line),
    authLimits: { maxFailures: 6, maxDelayMs: 1000 },
  });
  const answerTimes: number[] = [];
  let refusal: Received | null = null;
  for (let attempt = 0; attempt < 12 && refusal?.code !== "rate_limited"; attempt++) {
    await using guesser = await TestClient.connect(server.port);
    await guesser.next("server");
    const started = performance.now();
    refusal = await guesser.handshake(wrong.psk, 8000);
    answerTimes.push(performance.now() - started);
    assert(refusal !== null, "a wrong password is refused");
  }
  assertEquals(refusal?.code, "rate_limited", `after ${answerTimes.length} guesses`);
  assertMatch(String(refusal?.message), /too many wrong room passwords from 127\.0\.0\.1/);
  assert(Number(refusal?.wait) > 9 * 60_000, `wait ${refusal?.wait}`);
  assertEquals(answerTimes.length, 7, "the 7th attempt after 6 failures is refused");
  assert(answerTimes[1]! < 200, `the second guess is answered at once (${answerTimes[1]} ms)`);
  assert(answerTimes[3]! >= 240, `the fourth guess waits (${answerTimes[3]} ms)`);
  assert(answerTimes[5]! >= 900, `the sixth guess waits longer (${answerTimes[5]} ms)`);
  // Blocked means blocked: the address cannot use the right password either until the time is up.
  await using late = await TestClient.connect(server.port);
  await late.next("server");
  assertEquals((await late.handshake(key.psk))?.code, "rate_limited");
  const failureLines = log.filter((line) => /wrong room password/.test(line));
  assert(failureLines.length <= 2, `one line, not one per failure: ${failureLines.join(" | ")}`);
});

Deno.test("stored text has a rate per address and nick: a flood is refused with the wait", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lanchat-textrate-" });
  try {
    await using server = await startTestServer({
      history: openSqliteHistory(`${dir}/history.db`),
      requestRates: { textKibPerMinute: 60, textBurstKib: 200 },
    });
    await using ana = await TestClient.joined(server.port, "ana");
    await using bo = await TestClient.joined(server.port, "bo");
    const chunk = "x".repeat(40_000);
    for (let index = 0; index < 10; index++) await ana.say(chunk, { ref: `r${index}` });
    const outcomes: Received[] = [];
    for (let index = 0; index < 10; index++) {
      outcomes.push(await ana.next((m) => m.type === "error" || m.type === "msg", 5000));
    }
    assertEquals(
      outcomes.map((m) => `${m.type}:${m.ref}`).sort(),
      [0, 1, 2, 3, 4].map((n) => `msg:r${n}`).concat([5, 6, 7, 8, 9].map((n) => `error:r${n}`))
        .sort(),
      "five 40 KB messages fit the 200 KiB burst",
    );
    const refused = outcomes.find(isError("rate_limited"))!;
    assertMatch(String(refused.message), /60 KiB of text a minute.*send it again in \d+ s/);
    assert(Number(refused.wait) > 0 && Number(refused.wait) <= 60_000, `wait ${refused.wait}`);
    // Others are not affected, and a short line goes through once the bucket has room.
    await bo.say("hello from bo", { ref: "b" });
    await bo.next((m) => m.type === "msg" && m.ref === "b");
    const stored = await server.room.history.page({ viewer: { account: null }, limit: 50 });
    assertEquals(stored.items.length, 6);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("searches have a rate per address: past the burst they get rate_limited with the wait and ref", async () => {
  await using server = await startTestServer({
    requestRates: { searchBurst: 5, searchesPerMinute: 30 },
  });
  await using ana = await TestClient.joined(server.port, "ana");
  await ana.say("needle in the haystack");
  await ana.next("msg");
  for (let index = 0; index < 8; index++) {
    await ana.send({ type: "search", q: "needle", ref: `s${index}` });
  }
  const answers: Received[] = [];
  for (let index = 0; index < 8; index++) {
    answers.push(await ana.next((m) => m.type === "results" || m.type === "error"));
  }
  assertEquals(answers.map((m) => `${m.type}:${m.ref}`), [
    "results:s0",
    "results:s1",
    "results:s2",
    "results:s3",
    "results:s4",
    "error:s5",
    "error:s6",
    "error:s7",
  ]);
  assertEquals((answers[0]!.items as unknown[]).length, 1);
  assertEquals(answers[5]!.code, "rate_limited");
  assertMatch(
    String(answers[5]!.message),
    /too many searches .*at most 30 a minute.*try again in 2 s/,
  );
  assert(Number(answers[5]!.wait) > 1000 && Number(answers[5]!.wait) <= 2000);
  // A search is for a word, not a document.
  await ana.send({ type: "search", q: "x".repeat(300), ref: "long" });
  assertEquals((await ana.next((m) => m.ref === "long")).code, "too_long");
});

Deno.test("answers a client asked for never get it dropped as slow, however many it asks for", async () => {
  await using server = await startTestServer({
    limits: { maxOutboxBytes: 256 * 1024 },
    requestRates: { historyBurst: 1000, historyPagesPerMinute: 60_000, textBurstKib: 1e6 },
  });
  await using ana = await TestClient.joined(server.port, "ana");
  const chunk = "y".repeat(30_000);
  for (let index = 0; index < 40; index++) await ana.say(chunk);
  for (let index = 0; index < 40; index++) await ana.next("msg", 5000);
  // 60 pages of about 60 KB each, asked for at once: 3.6 MB, 14 times the outbox.
  for (let index = 0; index < 60; index++) {
    await ana.send({ type: "history", limit: 200, ref: `h${index}` });
  }
  for (let index = 0; index < 60; index++) {
    const page = await ana.next("history", 10_000);
    assertEquals(page.ref, `h${index}`);
    assert((page.items as unknown[]).length >= 1);
  }
  await ana.send({ type: "ping", n: "still here" });
  assertEquals((await ana.next("pong")).n, "still here");
  assertEquals(ana.all("left").length, 0);
});

Deno.test("live messages reach a requester after the answer it asked for first", async () => {
  await using server = await startTestServer();
  await using ana = await TestClient.joined(server.port, "ana");
  await using bo = await TestClient.joined(server.port, "bo");
  await bo.say("before");
  await ana.next("msg");
  await ana.send({ type: "history", limit: 10 });
  await bo.say("after");
  const next = await ana.next((m) => m.type === "history" || m.type === "msg");
  assertEquals(next.type, "history");
  assertEquals((next.items as Received[]).map((item) => item.body), [encodeBody("before")]);
  assertEquals((await ana.next("msg")).body, encodeBody("after"));
});

Deno.test("connections that never join are capped in total; a joined user is unaffected", async () => {
  await using server = await startTestServer({ gate: { maxPendingConnections: 20 } });
  await using ana = await TestClient.joined(server.port, "ana");
  const idle: net.Socket[] = [];
  try {
    for (let index = 0; index < 20; index++) {
      idle.push(await connectFrom(loopbackSource(index), server.port));
    }
    await withDeadline(
      (async () => {
        for (let round = 0; round < 200 && server.connections < 21; round++) {
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      })(),
      3000,
      "the 20 idle connections",
    );
    await using late = await TestClient.connect(server.port);
    const refusal = await late.next("error");
    assertEquals(refusal.code, "server_full");
    assertMatch(String(refusal.message), /connections that have not joined yet/);
    await ana.send({ type: "ping", n: 1 });
    await ana.next("pong");
  } finally {
    await closeAll(idle);
  }
  // Once they are gone, joining works again (bounded wait for the server to see the closes).
  for (let attempt = 0; attempt < 50; attempt++) {
    await using again = await TestClient.connect(server.port);
    const first = await again.next((m) => m.type === "server" || m.type === "error");
    if (first.type === "server") return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error("joining never worked again after the idle connections closed");
});

Deno.test("before joining, a frame larger than a hello is refused at once (no 64 KiB held)", async () => {
  await using server = await startTestServer();
  await using client = await TestClient.connect(server.port);
  await client.next("server");
  const header = new Uint8Array(5);
  new DataView(header.buffer).setUint32(0, 65_535);
  await client.sendRaw(header);
  const refusal = await client.next("error");
  assertEquals(refusal.code, "frame_too_large");
  await client.waitClosed();
  // After joining, the full 65,535 bytes are allowed.
  await using ana = await TestClient.joined(server.port, "ana");
  await ana.say("z".repeat(40_000), { ref: "big" });
  await ana.next((m) => m.type === "msg" && m.ref === "big");
});

Deno.test("12,000-style stalled-frame floods do not grow the server's memory", async () => {
  await using server = await serveOnLoopback(["--max-connections-per-ip", "64"]);
  const before = rssMb(server.pid);
  const stalled: net.Socket[] = [];
  const header = new Uint8Array(5);
  new DataView(header.buffer).setUint32(0, 65_535);
  try {
    // 900 connections from 15 addresses: each joins, then announces a 65,535-byte
    // frame and sends one byte of it. Before, each held a 64 KiB buffer (56 MB in all).
    for (let index = 0; index < 900; index++) {
      const socket = await connectFrom(loopbackSource(index % 15), server.port);
      socket.write(jsonFrame({ type: "hello", nick: `stall${index}` }));
      socket.write(header);
      stalled.push(socket);
    }
    // Bounded wait until the server has read them all (its memory stops growing).
    let peak = before;
    for (let round = 0; round < 30; round++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      peak = Math.max(peak, rssMb(server.pid));
    }
    const grown = peak - before;
    console.log(`stalled-frame flood: RSS ${before.toFixed(0)} -> ${peak.toFixed(0)} MB`);
    assert(grown < 45, `RSS grew by ${grown.toFixed(0)} MB for 900 stalled frames`);
  } finally {
    await closeAll(stalled);
  }
});

Deno.test("searching a 200,000-message history as fast as allowed does not stop others' pings", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lanchat-searchflood-" });
  try {
    const path = `${dir}/history.db`;
    await fillSearchHistory(path, 200_000);
    await using server = await startTestServer({
      history: openSqliteHistory(path),
      requestRates: { searchBurst: 1000, searchesPerMinute: 60_000 },
    });
    await using searcher = await TestClient.joined(server.port, "searcher");
    await using pinger = await TestClient.joined(server.port, "pinger");
    let searching = true;
    let answered = 0;
    const searches = (async () => {
      // Needles that match nothing scan the most: the worst a searcher can ask for.
      const queries = ["Éx", "qz", "Öq", "réunionx"];
      for (let index = 0; searching && index < 10_000; index++) {
        await searcher.send({ type: "search", q: queries[index % queries.length]!, ref: index });
        await searcher.next((m) => m.type === "results" || m.type === "error", 10_000);
        answered++;
      }
    })();
    const rtts: number[] = [];
    const until = performance.now() + 3000;
    for (let n = 0; performance.now() < until && n < 1000; n++) {
      const sent = performance.now();
      await pinger.send({ type: "ping", n });
      await pinger.next((m) => m.type === "pong" && m.n === n, 5000);
      rtts.push(performance.now() - sent);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    searching = false;
    await searches;
    rtts.sort((a, b) => a - b);
    const worst = rtts.at(-1)!;
    console.log(
      `search flood: ${answered} searches answered; ${rtts.length} pings, ` +
        `p50 ${rtts[Math.floor(rtts.length / 2)]!.toFixed(1)} ms, max ${worst.toFixed(1)} ms`,
    );
    assert(answered >= 5, `only ${answered} searches were answered`);
    assert(rtts.length >= 60, `only ${rtts.length} pings in 3 s`);
    assert(worst < 200, `a ping waited ${worst.toFixed(0)} ms behind the searches`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("out of file descriptors, the chat port logs once, keeps serving, and recovers", async () => {
  // 256 descriptors; 5 addresses x 64 connections try to take 320 of them.
  await using server = await serveUnderFileLimit(["--hello-timeout", "2"], { softFiles: 256 });
  const flood: net.Socket[] = [];
  try {
    for (let index = 0; index < 320; index++) {
      try {
        flood.push(await connectFrom(loopbackSource(index % 5), server.port, 2000));
      } catch {
        // The backlog is full: the kernel stops completing connections. Enough.
        break;
      }
    }
    await server.waitForLine(/chat port: cannot accept connections: Too many open files/, {
      timeoutMs: 5000,
    });
    // Unjoined connections are closed after the hello deadline, and the server accepts again.
    const recovered = await server.waitForLine(
      /chat port: accepting again after \d+ failed accepts/,
      {
        timeoutMs: 10_000,
      },
    );
    assert(recovered.lineIndex > 0);
  } finally {
    await closeAll(flood);
  }
  await using ana = await TestClient.joined(server.port, "ana");
  await ana.send({ type: "ping", n: "alive" });
  assertEquals((await ana.next("pong")).n, "alive");
  const failures = server.output().filter((line) => /accept/.test(line));
  assert(
    failures.length <= 4,
    `accept failures are not logged one by one:\n${failures.join("\n")}`,
  );
});

Deno.test("a storm of connections that stall mid-frame does not hold up others' pings", async () => {
  await using server = await serveOnLoopback();
  await using pinger = await TestClient.joined(server.port, "pinger");
  // The bench's stalled-frames flood: 12,000 connections from 200 addresses, each
  // announcing a 65,535-byte frame and sending one byte. Before, accepting them kept
  // the event loop for a second at a time.
  await using flood = spawnProcess(Deno.execPath(), [
    ...["run", "--allow-net", "--allow-read", "--allow-env", "scripts/bench_abuse_flood.ts"],
    ...["--flood", "stalled-frames", "--port", String(server.port), "--seconds", "4"],
  ]);
  await flood.waitForLine(/"event":"flooding"/, { timeoutMs: 20_000 });
  let flooding = true;
  const floodDone = flood.waitForExit(30_000).finally(() => flooding = false);
  const rtts: number[] = [];
  const until = performance.now() + 8000;
  for (let n = 0; flooding && performance.now() < until && n < 400; n++) {
    const sent = performance.now();
    await pinger.send({ type: "ping", n });
    await pinger.next((m) => m.type === "pong" && m.n === n, 10_000);
    rtts.push(performance.now() - sent);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  rtts.sort((a, b) => a - b);
  const p90 = rtts[Math.floor(rtts.length * 0.9)]!, worst = rtts.at(-1)!;
  console.log(
    `stalled-frame storm: ${rtts.length} pings, p90 ${p90.toFixed(1)} ms, max ${
      worst.toFixed(1)
    } ms`,
  );
  assertEquals((await floodDone).code, 0);
  assert(rtts.length >= 20, `only ${rtts.length} pings during the storm`);
  assert(p90 < 50, `one ping in ten waited ${p90.toFixed(0)} ms or more behind the accepts`);
  assert(worst < 150, `a ping waited ${worst.toFixed(0)} ms behind the accepts`);
});
