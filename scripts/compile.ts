/**
 * Builds the single lanchat binary: `deno task compile [--target T] [--output F]`.
 *
 * Owns: the one list of permissions and embedded files the binary needs, so
 * the release workflow and a developer build the same thing.
 * `deno compile` downloads its base runtime (denort) from Deno's servers;
 * where they are unreachable, set DENORT_BIN to a local denort binary.
 */
import { Command } from "commander";
import { v8FlagsArgument } from "./runtime_flags.ts";

/** Permissions baked into the binary: what `serve` and `join` use, nothing more. */
const permissions = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-sys",
  // setrlimit through FFI: serve raises its open-file limit (lib/server/open_files.ts).
  "--allow-ffi",
];
/**
 * Files read at run time that must travel inside the binary: the page's files
 * (served from lib/web/), and the history reader worker, which `new Worker`
 * loads by URL: deno compile embeds a worker only when told to (its one static
 * import of that module is type-only).
 */
const embedded = ["lib/web", "lib/store/history_reader_worker.ts"];

const options = new Command()
  .name("deno task compile")
  .description("Build the single lanchat binary")
  .option(
    "--target <triple>",
    "cross-compile target, e.g. aarch64-apple-darwin (default: this machine)",
  )
  .option("--output <file>", "where to write the binary", "dist/lanchat")
  .parse(Deno.args, { from: "user" })
  .opts<{ target?: string; output: string }>();

const args = [
  "compile",
  ...permissions,
  v8FlagsArgument,
  ...embedded.flatMap((path) => ["--include", path]),
  ...(options.target === undefined ? [] : ["--target", options.target]),
  "--output",
  options.output,
  "main.ts",
];
console.log(`deno ${args.join(" ")}`);
const { code } = await new Deno.Command(Deno.execPath(), {
  args,
  stdout: "inherit",
  stderr: "inherit",
})
  .output();
if (code !== 0) {
  console.error(
    "compile failed. If it could not download denort (Deno's base runtime), this machine cannot " +
      "reach Deno's servers: build on one that can, or set DENORT_BIN to a denort binary.",
  );
}
Deno.exit(code);
