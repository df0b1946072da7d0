/**
 * `--tls-cert` / `--tls-key`: the web page and its WebSocket over HTTPS, with
 * a test certificate for 127.0.0.1 issued by a test CA
 * (tests/fixtures/tls_test_*.pem, made for these tests only; the CA's key was
 * thrown away).
 */
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { startTestServer } from "./_helpers.ts";
import { lanchat } from "./fixtures/client_process.ts";

const certPath = new URL("./fixtures/tls_test_cert.pem", import.meta.url).pathname;
const keyPath = new URL("./fixtures/tls_test_key.pem", import.meta.url).pathname;
const caPath = new URL("./fixtures/tls_test_ca.pem", import.meta.url).pathname;

Deno.test("with a certificate the page is served over HTTPS (and not over plain HTTP)", async () => {
  const cert = await Deno.readTextFile(certPath);
  const key = await Deno.readTextFile(keyPath);
  await using server = await startTestServer({ webPort: 0, webTls: { cert, key } });
  assert(server.webTls);
  using client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(caPath)] });
  const response = await fetch(`https://127.0.0.1:${server.webPort}/`, { client });
  assertEquals(response.status, 200);
  assertMatch(await response.text(), /<title>lanchat<\/title>/);
  assertMatch(response.headers.get("content-security-policy") ?? "", /default-src 'none'/);
  let plainFailed = false;
  try {
    const plain = await fetch(`http://127.0.0.1:${server.webPort}/`);
    await plain.body?.cancel();
  } catch {
    plainFailed = true;
  }
  assert(plainFailed, "plain HTTP is not answered on the HTTPS port");
});

Deno.test("serve --tls-cert/--tls-key prints https:// addresses; one without the other is refused", async () => {
  await using server = lanchat([
    "serve",
    ...[
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--web-port",
      "0",
      "--no-discovery",
      "--db",
      ":memory:",
    ],
    ...["--tls-cert", certPath, "--tls-key", keyPath],
  ]);
  await server.waitForLine(/web page: +listening on \S+:\d+ \(HTTPS\)/);
  await server.waitForLine(/or open: +https:\/\/127\.0\.0\.1:\d+\//);
  server.kill("SIGTERM");
  assertEquals((await server.waitForExit()).code, 0);

  await using half = lanchat(["serve", "--port", "0", "--db", ":memory:", "--tls-cert", certPath]);
  assertEquals((await half.waitForExit()).code, 1);
  assertMatch(half.output("stderr").join("\n"), /give both --tls-cert FILE and --tls-key FILE/);
});
