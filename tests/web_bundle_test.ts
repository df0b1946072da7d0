/**
 * lib/web/noise.js, the page's bundle of lib/wire/noise.ts and lib/wire/room_key.ts
 * with @noble: it must be exactly what `deno task bundle-web` builds from the
 * current sources and locked packages, its declarations (noise.d.ts) must fit
 * the TypeScript it comes from, and it must stay small.
 */
import { assert, assertEquals } from "./_assert.ts";
import { buildWebBundle, bundleUrl } from "../scripts/bundle_web.ts";
import * as entry from "../lib/web/noise_entry.ts";
import type * as declared from "../lib/web/noise.js";

Deno.test("lib/web/noise.js is up to date with lib/wire/noise.ts, lib/wire/room_key.ts and @noble (else: deno task bundle-web)", async () => {
  const committed = await Deno.readTextFile(bundleUrl);
  const fresh = await buildWebBundle();
  assert(
    committed === fresh,
    "lib/web/noise.js is stale: run `deno task bundle-web` and commit the result",
  );
  assert(
    committed.startsWith('// @ts-self-types="./noise.d.ts"'),
    "the bundle points at its types",
  );
  assert(/MIT License/.test(committed), "the @noble licence is kept");
});

Deno.test("noise.d.ts describes what the TypeScript sources export", () => {
  // Type-checked: the sources must be assignable to the declarations the page is checked against.
  const fits: typeof declared = entry;
  assertEquals(typeof fits.HandshakeState, "function");
  assertEquals(fits.noiseProtocolName, "Noise_NNpsk0_25519_ChaChaPoly_SHA256");
});

Deno.test("the crypto bundle stays small", async () => {
  const bytes = (await Deno.readFile(bundleUrl)).length;
  console.log(`lib/web/noise.js: ${(bytes / 1024).toFixed(1)} KB (minified, uncompressed)`);
  assert(bytes < 128 * 1024, `the crypto bundle grew to ${bytes} bytes`);
});
