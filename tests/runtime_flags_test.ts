/**
 * The V8 flags of scripts/runtime_flags.ts reach every way lanchat is run.
 */
import { assert } from "./_assert.ts";
import { v8Flags, v8FlagsArgument } from "../scripts/runtime_flags.ts";

Deno.test("the serve and join tasks pass the same V8 flags as the compiled binary", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url))) as {
    tasks: Record<string, { command: string }>;
  };
  for (const task of ["serve", "join"]) {
    const command = config.tasks[task]?.command ?? "";
    assert(command.includes(` ${v8FlagsArgument} `), `deno task ${task}: ${command}`);
  }
});

/** Peak size of V8's young generation (MB) in a process that makes lots of short-lived garbage. */
async function peakYoungGenerationMb(flags: string[]): Promise<number> {
  const script = `
    import v8 from "node:v8";
    let peak = 0;
    const keep = [];
    for (let round = 0; round < 200; round++) {
      for (let i = 0; i < 20000; i++) keep.push({ a: i, b: [i, i + 1], c: "x" + i });
      keep.length = 0;
      await Promise.resolve();
      const young = v8.getHeapSpaceStatistics().find((space) => space.space_name === "new_space");
      peak = Math.max(peak, young?.space_size ?? 0);
    }
    console.log(peak / 1048576);`;
  const { stdout, success } = await new Deno.Command(Deno.execPath(), {
    args: ["eval", ...flags, script],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert(success, "deno eval failed");
  return Number(new TextDecoder().decode(stdout).trim());
}

Deno.test("the flags keep V8's young generation small where the default lets it grow", async () => {
  const capMb = Number(
    v8Flags.find((flag) => flag.startsWith("--max-semi-space-size="))?.split("=")[1],
  );
  const [capped, uncapped] = await Promise.all([
    peakYoungGenerationMb([v8FlagsArgument]),
    peakYoungGenerationMb([]),
  ]);
  // The young generation is two semi-spaces.
  assert(capped > 0 && capped <= 2 * capMb, `with the flags: ${capped} MB`);
  assert(uncapped > capped, `without them: ${uncapped} MB, with them: ${capped} MB`);
});
