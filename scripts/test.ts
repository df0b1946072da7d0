/**
 * Runs every test (`deno task test`) and ends with one line
 * `N passed, N failed` (plus `, N skipped` when tests were ignored).
 *
 * Owns: the test command's summary, the CI rule that nothing is skipped
 * silently (with CI=true an ignored test fails the run), and the rule that
 * the tests leave the person's own lanchat data folder alone (issue #13):
 * `deno test` runs in a temporary home made for the run and deleted after it
 * (tests/fixtures/test_home.ts), and the run fails, naming the files, when
 * anything in the real data folder appeared, changed or went meanwhile.
 * A whole run goes in two parts: every test file in parallel, except those
 * whose header says `@run-alone` (latency bounds that busy cores break),
 * which run afterwards by themselves; the summary adds both up.
 * Extra arguments are passed to `deno test` as they are (e.g. a file or
 * --filter), in one parallel run.
 */
import { currentDataDirEnv, dataDirFor } from "../lib/cli/data_dir.ts";
import type { DataDirEnv } from "../lib/cli/data_dir.ts";
import {
  currentDenoDir,
  folderChanges,
  isolatedEnv,
  listFolder,
  rootPrefix,
} from "../tests/fixtures/test_home.ts";
import type { FolderListing } from "../tests/fixtures/test_home.ts";

// Strips ANSI colour codes so the summary line can be parsed.
// deno-lint-ignore no-control-regex
const ansi = /\x1b\[[0-9;]*m/g;

/**
 * The person's data folders, from the environment this script was started
 * with: the one lanchat uses, and on Linux also ~/.local/share/lanchat when
 * XDG_DATA_HOME points elsewhere (code that ignored XDG_DATA_HOME would write there).
 */
function realDataDirs(): string[] {
  const env = currentDataDirEnv();
  const { XDG_DATA_HOME: _, ...withoutXdg } = env;
  const folders = new Set<string>();
  for (const candidate of [env, withoutXdg] as DataDirEnv[]) {
    try {
      folders.add(dataDirFor(Deno.build.os, candidate));
    } catch {
      // No home folder named: lanchat has no default data folder to write into.
    }
  }
  return [...folders];
}

/**
 * Runs `deno eval code` and returns its output. deno.json runs this script
 * without --allow-write; the temporary root is made and deleted by a child.
 */
async function denoEval(code: string): Promise<string> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-config", code],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new Error(`deno eval failed: ${new TextDecoder().decode(output.stderr).trim()}`);
  }
  return new TextDecoder().decode(output.stdout).trim();
}

const watched = realDataDirs();
const before = new Map<string, FolderListing>();
for (const folder of watched) before.set(folder, await listFolder(folder));

const root = await denoEval(
  `const root = Deno.makeTempDirSync({ prefix: "${rootPrefix(Deno.pid)}" });
   Deno.mkdirSync(root + (Deno.build.os === "windows" ? "\\\\" : "/") + "home");
   console.log(root);`,
);

/** A test file whose header carries this runs by itself, after the others (timing bounds). */
const runAloneMarker = "@run-alone";

/**
 * The files of a whole run, in two groups: most run in parallel; those marked
 * {@link runAloneMarker} (latency bounds of a few ms that two busy cores
 * would break) run afterwards, one at a time, on a quiet machine.
 */
async function testGroups(): Promise<{ parallel: string[]; alone: string[] }> {
  const parallel: string[] = [], alone: string[] = [];
  const names: string[] = [];
  for await (const entry of Deno.readDir("tests")) {
    if (entry.isFile && entry.name.endsWith("_test.ts")) names.push(entry.name);
  }
  for (const name of names.sort()) {
    const head = (await Deno.readTextFile(`tests/${name}`)).slice(0, 4000);
    (head.includes(runAloneMarker) ? alone : parallel).push(`tests/${name}`);
  }
  return { parallel, alone };
}

/** What one `deno test` run reported. */
interface RunResult {
  code: number;
  passed: number;
  failed: number;
  ignored: number;
  /** False when no summary line came (it crashed). */
  summarized: boolean;
}

/** Runs `deno test` with `args` in the temporary home, echoing its output; parses its summary. */
async function denoTest(args: string[]): Promise<RunResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["test", "--allow-all", ...args],
    stdout: "piped",
    stderr: "inherit",
    env: { DENO_JOBS: Deno.env.get("DENO_JOBS") ?? "2", ...isolatedEnv(root, currentDenoDir()) },
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
  return {
    code,
    passed: count("passed"),
    failed: count("failed"),
    ignored: count("ignored"),
    summarized: summary !== undefined,
  };
}

const runs: RunResult[] = [];
if (Deno.args.length > 0) {
  runs.push(await denoTest(["--parallel", ...Deno.args]));
} else {
  const { parallel, alone } = await testGroups();
  runs.push(await denoTest(["--parallel", ...parallel]));
  if (alone.length > 0) {
    console.log(`\nlanchat tests: now by themselves (${runAloneMarker}): ${alone.join(", ")}\n`);
    runs.push(await denoTest(alone));
  }
}
const passed = runs.reduce((sum, run) => sum + run.passed, 0);
const failed = runs.reduce((sum, run) => sum + run.failed, 0);
const ignored = runs.reduce((sum, run) => sum + run.ignored, 0);

let exitCode = runs.find((run) => run.code !== 0)?.code ?? 0;
if (runs.some((run) => !run.summarized)) {
  console.error("lanchat tests: no summary line from deno test (did it crash?)");
  exitCode = exitCode || 1;
}
if (ignored > 0 && Deno.env.get("CI") === "true") {
  console.error(`lanchat tests: ${ignored} test(s) were skipped; nothing may be skipped in CI`);
  exitCode = exitCode || 1;
}

const touched: string[] = [];
for (const folder of watched) {
  touched.push(...folderChanges(folder, before.get(folder)!, await listFolder(folder)));
}
if (touched.length > 0) {
  console.error(
    `lanchat tests: the run touched your own lanchat data folder (issue #13); ` +
      `every test must use its temporary home (tests/fixtures/test_home.ts). ` +
      `If you ran lanchat yourself meanwhile, run the tests again.\n` +
      touched.map((line) => `  ${line}`).join("\n"),
  );
  exitCode = exitCode || 1;
}

try {
  await denoEval(`Deno.removeSync(${JSON.stringify(root)}, { recursive: true });`);
} catch (error) {
  console.error(`lanchat tests: could not delete the temporary home ${root}: ${error}`);
}

console.log(`${passed} passed, ${failed} failed${ignored > 0 ? `, ${ignored} skipped` : ""}`);
Deno.exit(exitCode);
