/**
 * docs/PROTOCOL.md is the contract (issue #13): it holds version 1
 * (../shared/PROTOCOL.md) word for word and in order, so a client written from
 * version 1 finds every rule it was written to, and each addition is marked
 * "Since version 1". The shared file is read at run time; a missing one fails.
 */
import { assert, assertEquals } from "./_assert.ts";

const docs = new URL("../docs/PROTOCOL.md", import.meta.url);
const versionOne = new URL("../../shared/PROTOCOL.md", import.meta.url);

Deno.test("docs/PROTOCOL.md holds every line of version 1, unchanged and in order", async () => {
  const original = (await Deno.readTextFile(versionOne)).split("\n");
  const current = (await Deno.readTextFile(docs)).split("\n");
  const missing: string[] = [];
  let at = 0;
  for (const line of original) {
    const found = current.indexOf(line, at);
    if (found < 0) missing.push(line);
    else at = found + 1;
  }
  assert(original.length > 100, "../shared/PROTOCOL.md looks truncated");
  assertEquals(missing, [], "lines of version 1 changed, moved or gone from docs/PROTOCOL.md");
});

Deno.test("docs/PROTOCOL.md marks the decisions taken where version 1 was silent", async () => {
  const text = await Deno.readTextFile(docs);
  const marked = text.split("**Since version 1").slice(1).join("\n");
  for (
    const topic of [
      /multi-part|parts/i,
      /presence/i,
      /trimmed|trims/i,
      /storage_failed/,
      /hello deadline/i,
      /\bids?\b/,
      /here\.id|`id` of `here`/,
      /plaintext/i,
      /combining/i,
      /private history/i,
    ]
  ) {
    assert(topic.test(marked), `no "Since version 1" addition mentions ${topic}`);
  }
});
