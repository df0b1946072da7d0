/**
 * V8 flags every lanchat process runs with: baked into the binary by
 * scripts/compile.ts, and passed by the `serve`/`join` tasks (deno.json) and
 * the benchmark's server (scripts/bench_server.ts). tests/runtime_flags_test.ts
 * keeps deno.json in step with this list.
 *
 * `--max-semi-space-size=8` (MB) caps V8's young generation, which a busy
 * server otherwise grows to its default maximum and keeps: at 1,000 clients
 * x 0.2 msg/s the server's RSS fell from 145-150 MB to 104-111 MB, with the
 * same latency and CPU (deno task bench, alternating runs, one sitting).
 * Smaller caps (1-4 MB) saved less and cost latency.
 */
export const v8Flags: readonly string[] = ["--max-semi-space-size=8"];

/** The flags as one `deno run`/`deno compile` argument. */
export const v8FlagsArgument = `--v8-flags=${v8Flags.join(",")}`;
