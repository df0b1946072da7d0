/**
 * What a network observer sees: tcpdump on loopback records a whole session.
 * With a room password neither the chat text nor its BASE64 appears on the
 * wire; without one (the control, so this test can fail) the BASE64 does.
 * Needs tcpdump and root: ignored loudly without them, failed when CI=true.
 */
import { assert } from "./_assert.ts";
import { startTestServer, TestClient, testRoomKey, text } from "./_helpers.ts";
import { canCapture, PacketCapture } from "./fixtures/packet_capture.ts";
import { encodeFrame } from "../lib/frame.ts";
import { encodeBody } from "../lib/wire/protocol.ts";
import { assertEquals } from "./_assert.ts";

const onCi = Deno.env.get("CI") === "true";
const missing = !canCapture();
if (missing && !onCi) {
  console.error(
    "\n!!! packet capture test IGNORED: needs /usr/bin/tcpdump and root. " +
      "Install Debian's tcpdump package (CI fails without it). !!!\n",
  );
}

/** Chats `marker` (as text and as a search) over a session, captured; returns the capture. */
async function capturedSession(marker: string, password: string | null): Promise<PacketCapture> {
  const key = password === null ? null : await testRoomKey(password);
  await using server = await startTestServer({ roomKey: key });
  const capture = await PacketCapture.start(server.port);
  try {
    const join = (nick: string) =>
      key === null
        ? TestClient.joined(server.port, nick)
        : TestClient.secureJoined(server.port, nick, key.psk);
    await using ana = await join("anastasia_k");
    await using bo = await join("bogdan_k");
    await ana.say(marker, { ref: "r1" });
    assertEquals(text(await bo.next("msg")), marker);
    assertEquals((await ana.next("msg")).ref, "r1");
    await bo.send({ type: "search", q: marker });
    assertEquals(((await bo.next("results")).items as unknown[]).length, 1);
    // A plaintext sentinel on the same port, after the session: once it is in
    // the capture, everything before it is too.
    const sentinel = `sentinel-${crypto.randomUUID()}`;
    await using probe = await TestClient.connect(server.port);
    await probe.next("server");
    await probe.sendRaw(encodeFrame(new TextEncoder().encode(sentinel)));
    await capture.waitFor(sentinel);
  } finally {
    await capture.stop();
  }
  return capture;
}

Deno.test({
  name:
    "tcpdump of a secure session shows neither the text nor its BASE64; of a plain one, it does",
  ignore: missing && !onCi,
  fn: async () => {
    if (missing) {
      throw new Error("CI=true but tcpdump or root is missing: install tcpdump, run as root");
    }
    const marker = `MARKER-${crypto.randomUUID()}`;
    const secure = await capturedSession(marker, "capture password");
    // The capture really holds the session: the plaintext greeting is there.
    assert(secure.contains("Noise_NNpsk0_25519_ChaChaPoly_SHA256"), "the greeting was captured");
    assert(secure.bytes().length > 2000, "the capture holds the session's packets");
    assert(!secure.contains(marker), "the marker text is not on the wire");
    assert(!secure.contains(encodeBody(marker)), "its BASE64 is not on the wire");
    assert(!secure.contains("anastasia_k"), "not even the nicks are on the wire");

    const plain = await capturedSession(marker, null);
    assert(plain.contains(encodeBody(marker)), "control: without a password the BASE64 is visible");
    assert(plain.contains(marker), "control: the search text is visible in plain text");
  },
});
