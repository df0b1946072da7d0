/**
 * What a network observer sees of a file (issue #16): tcpdump on loopback
 * records an upload and a download. With a room password no 64-byte run of
 * the file's bytes is on the wire; without one (the control, so this test
 * can fail) there are plenty. Needs tcpdump and root: ignored loudly without
 * them, failed when CI=true.
 */
import { assert, assertEquals } from "./_assert.ts";
import { TestClient, testRoomKey } from "./_helpers.ts";
import { canCapture, PacketCapture } from "./fixtures/packet_capture.ts";
import {
  fetchFile,
  randomBytes,
  roomWithFiles,
  sha256Hex,
  upload,
} from "./fixtures/raw_transfers.ts";
import { encodeFrame } from "../lib/frame.ts";
import { generateKeyPair } from "../lib/wire/identity.ts";

const onCi = Deno.env.get("CI") === "true";
const missing = !canCapture();
if (missing && !onCi) {
  console.error(
    "\n!!! file capture test IGNORED: needs /usr/bin/tcpdump and root. " +
      "Install Debian's tcpdump package (CI fails without it). !!!\n",
  );
}

/** Bytes in the runs looked for. */
const runBytes = 64;
/** Aligned blocks of this size: any 64-byte run of the file holds a whole one. */
const blockBytes = runBytes / 2;

/** How many places in `haystack` hold a run of `runBytes` bytes of `file` (counted up to `max`). */
function runsOfFileIn(haystack: Uint8Array, file: Uint8Array, max = 10): number {
  // Every aligned block of the file, by its first 4 bytes.
  const blocks = new Map<number, number[]>();
  const fileView = new DataView(file.buffer, file.byteOffset, file.byteLength);
  for (let start = 0; start + blockBytes <= file.length; start += blockBytes) {
    const key = fileView.getUint32(start);
    const list = blocks.get(key);
    if (list === undefined) blocks.set(key, [start]);
    else list.push(start);
  }
  const view = new DataView(haystack.buffer, haystack.byteOffset, haystack.byteLength);
  let found = 0;
  for (let at = 0; at + blockBytes <= haystack.length && found < max; at++) {
    const candidates = blocks.get(view.getUint32(at));
    if (candidates === undefined) continue;
    for (const start of candidates) {
      // The block matches: extend both ways to see whether the run reaches 64 bytes.
      let before = 0, after = blockBytes;
      while (
        after < runBytes && start + after < file.length && at + after < haystack.length &&
        file[start + after] === haystack[at + after]
      ) after++;
      while (
        before + after < runBytes && start - before > 0 && at - before > 0 &&
        file[start - before - 1] === haystack[at - before - 1]
      ) before++;
      if (before + after >= runBytes && equal(file, start, haystack, at, blockBytes)) {
        found++;
        break;
      }
    }
  }
  return found;
}

function equal(a: Uint8Array, aAt: number, b: Uint8Array, bAt: number, length: number): boolean {
  for (let index = 0; index < length; index++) if (a[aAt + index] !== b[bAt + index]) return false;
  return true;
}

/** Uploads and downloads `file` over a captured session (with a password or not). */
async function capturedTransfer(file: Uint8Array, password: string | null): Promise<Uint8Array> {
  const key = password === null ? null : await testRoomKey(password);
  await using room = await roomWithFiles(64 * 1024 * 1024, { roomKey: key });
  const port = room.server.port;
  const capture = await PacketCapture.start(port);
  try {
    const join = async (nick: string) => {
      const client = await TestClient.connect(port);
      await client.next("server");
      if (key !== null) assertEquals(await client.handshake(key.psk), null);
      await client.helloWithKey(nick, generateKeyPair());
      await client.next("welcome");
      await client.next("users");
      return client;
    };
    await using ana = await join("ana");
    await using bob = await join("bob");
    const sent = await upload(ana, file);
    assertEquals(sent.answer.type, "uploaded", JSON.stringify(sent.answer));
    const { bytes } = await fetchFile(bob, sent.id);
    assertEquals(sha256Hex(bytes), sha256Hex(file), "the download is the file");
    // A plaintext sentinel on the same port, after the transfers: once it is in the capture,
    // everything before it is too.
    const sentinel = `sentinel-${crypto.randomUUID()}`;
    await using probe = await TestClient.connect(port);
    await probe.next("server");
    await probe.sendRaw(encodeFrame(new TextEncoder().encode(sentinel)));
    await capture.waitFor(sentinel);
  } finally {
    await capture.stop();
  }
  return capture.bytes();
}

Deno.test({
  name: "tcpdump of a file's upload and download with a password holds no 64-byte run of it; " +
    "without a password, it does",
  ignore: missing && !onCi,
  fn: async () => {
    if (missing) {
      throw new Error("CI=true but tcpdump or root is missing: install tcpdump, run as root");
    }
    const file = randomBytes(2 * 1024 * 1024);
    const secure = await capturedTransfer(file, "capture password for files");
    // Two copies of the file went over the wire (up and down), sealed.
    assert(secure.length > 2 * file.length, `the capture holds the transfers (${secure.length})`);
    assertEquals(runsOfFileIn(secure, file), 0, "no run of the file's bytes with a password");
    const plain = await capturedTransfer(file, null);
    assert(runsOfFileIn(plain, file) >= 10, "control: without a password the bytes are visible");
  },
});
