/**
 * Runs every test (`deno task test`) and ends with one line
 * `N passed, N failed` (plus `, N skipped` when tests were ignored).
 *
 * Owns: the test command's summary and the CI rule that nothing is skipped
 * silently: with CI=true an ignored test fails the run.
 * Extra arguments are passed to `deno test` (e.g. a file or --filter).
 */

// Strips ANSI colour codes so the summary line can be parsed.
// deno-lint-ignore no-control-regex
const ansi = /\x1b\[[0-9;]*m/g;

const args = Deno.args.length > 0 ? Deno.args : ["tests/"];
const child = new Deno.Command(Deno.execPath(), {
  args: ["test", "--allow-all", "--parallel", ...args],
  stdout: "piped",
  stderr: "inherit",
  env: { DENO_JOBS: Deno.env.get("DENO_JOBS") ?? "2" },
}).spawn();

let tail = "";
const decoder = new TextDecoder();
for await (const chunk of child.stdout) {
  await Deno.stdout.write(chunk);
  tail = (tail + decoder.decode(chunk, { stream: true })).slice(-4000);
}
const { code } = await child.status;

const summary = tail.replace(ansi, "").split("\n").reverse()
  .find((line) => /\d+ passed/.test(line) && /\d+ failed/.test(line));
const count = (word: string) => Number(summary?.match(new RegExp(`(\\d+) ${word}`))?.[1] ?? 0);
const passed = count("passed"), failed = count("failed"), ignored = count("ignored");

let exitCode = code;
if (summary === undefined) {
  console.error("lanchat tests: no summary line from deno test (did it crash?)");
  exitCode = exitCode || 1;
}
if (ignored > 0 && Deno.env.get("CI") === "true") {
  console.error(`lanchat tests: ${ignored} test(s) were skipped; nothing may be skipped in CI`);
  exitCode = exitCode || 1;
}
console.log(`${passed} passed, ${failed} failed${ignored > 0 ? `, ${ignored} skipped` : ""}`);
Deno.exit(exitCode);
