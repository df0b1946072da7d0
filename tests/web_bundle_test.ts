/**
 * lib/web/app.js, the page's one script, bundled from lib/web/page/main.tsx
 * (the view, the client core, lib/wire/ and the locked Preact and @noble
 * packages): it must be exactly what `deno task bundle-web` builds from the
 * current sources, carry the bundled libraries' licences, and stay small.
 */
import { assert } from "./_assert.ts";
import { buildWebBundle, bundleUrl } from "../scripts/bundle_web.ts";

Deno.test("lib/web/app.js is up to date with lib/web/page/, lib/client/, lib/wire/ and the locked packages (else: deno task bundle-web)", async () => {
  const committed = await Deno.readTextFile(bundleUrl);
  const fresh = await buildWebBundle();
  assert(
    committed === fresh,
    "lib/web/app.js is stale: run `deno task bundle-web` and commit the result",
  );
  assert(/MIT License/.test(committed), "the bundled libraries' licence is kept");
  assert(/Jason Miller/.test(committed) && /Paul Miller/.test(committed), "Preact's and @noble's");
});

Deno.test("the page's bundle stays small (minified and gzipped)", async () => {
  const bytes = await Deno.readFile(bundleUrl);
  const gzipped = await new Response(
    new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip")),
  ).arrayBuffer();
  console.log(
    `lib/web/app.js: ${(bytes.length / 1024).toFixed(1)} KB minified, ` +
      `${(gzipped.byteLength / 1024).toFixed(1)} KB gzipped`,
  );
  // Raised for issue #15 (team chat: formatting, mentions, channels, the sidebar and switcher) from
  // 192 KB / 64 KB, where the page stood at 162 KB / 58.7 KB with identity. Still one script with
  // its crypto, loaded once per browser, a few round trips on a LAN.
  // Raised for issue #16 (files: upload/download jobs, progress, thumbnails); 232.6 / 82.1 KB then.
  assert(bytes.length < 240 * 1024, `the page's bundle grew to ${bytes.length} bytes`);
  assert(gzipped.byteLength < 90 * 1024, `the gzipped bundle grew to ${gzipped.byteLength} bytes`);
});
