/**
 * The architecture, checked: which folder of lib/ may import which (the
 * headers of lib/README.md and each folder's README say the same in words).
 * Fails when lib/wire/ imports anything outside itself (but lib/frame.ts and
 * @noble), when the client core (lib/client/*.ts) imports the terminal, the
 * page, the DOM, Node or a Deno-only API, or when a folder reaches into one
 * it must not know, or when the page (lib/web/) imports the terminal, the
 * server or a Deno API.
 */
import { assert, assertEquals } from "./_assert.ts";

const libDir = new URL("../lib/", import.meta.url);

/** A folder's rule: where its relative imports may point, which packages, which globals are banned. */
interface FolderRule {
  /** Paths under lib/ (a folder ending in "/", or a file) its relative imports may resolve to. */
  mayImport: string[];
  /** Bare specifiers allowed (prefixes): npm packages, node: modules. */
  packages: string[];
  /** Globals its code must not use. */
  bannedGlobals: string[];
  /** Paths it must not import even where `mayImport` allows their folder. */
  neverImport?: string[];
}

/** Deno's native cipher: for Deno processes only (main.ts installs it), never the page's code. */
const denoOnlyWire = ["wire/native_aead.ts"];

const portable = [
  "Deno",
  "document",
  "window",
  "localStorage",
  "sessionStorage",
  "navigator",
  "process",
];

/** Keyed by the files they cover: a folder ("wire/", every file below it) or "client/*" (its top level only). */
export const rules: Record<string, FolderRule> = {
  "frame.ts": { mayImport: ["frame.ts", "wire/errors.ts"], packages: [], bannedGlobals: portable },
  // The one module of lib/wire that is not portable: node:crypto's ChaCha20-Poly1305.
  "wire/native_aead.ts": { mayImport: ["wire/"], packages: ["node:crypto"], bannedGlobals: [] },
  "wire/": {
    mayImport: ["wire/", "frame.ts"],
    packages: ["@noble/"],
    bannedGlobals: portable,
    neverImport: denoOnlyWire,
  },
  "client/*": {
    mayImport: ["client/*", "client/files/", "wire/", "frame.ts"],
    packages: [],
    bannedGlobals: portable,
    neverImport: denoOnlyWire,
  },
  // File transfer of the client core: as portable (terminal and page), with @noble's SHA-256.
  "client/files/": {
    mayImport: ["client/*", "client/files/", "wire/", "frame.ts"],
    packages: ["@noble/"],
    bannedGlobals: portable,
    neverImport: denoOnlyWire,
  },
  // The page: its view on the client core and the wire, never the terminal, the server or Deno.
  "web/": {
    mayImport: ["web/", "client/*", "client/files/", "wire/", "frame.ts"],
    packages: ["preact", "@preact/signals"],
    bannedGlobals: ["Deno", "process"],
    neverImport: denoOnlyWire,
  },
  // What every command shares sits below the folders that use it: it imports none of them.
  // (run_command.ts finds the clone by main.ts's URL.)
  "cli/": {
    mayImport: ["cli/", "../main.ts"],
    packages: ["node:", "commander"],
    bannedGlobals: [],
  },
  "identity/": {
    mayImport: ["identity/", "wire/", "cli/"],
    packages: ["node:"],
    bannedGlobals: [],
  },
  "store/": { mayImport: ["store/", "wire/", "cli/"], packages: ["node:"], bannedGlobals: [] },
  "discovery/": {
    mayImport: ["discovery/", "wire/", "cli/"],
    packages: ["node:"],
    bannedGlobals: [],
  },
  "server/": {
    mayImport: [
      "server/",
      "wire/",
      "frame.ts",
      "store/",
      "discovery/",
      "cli/",
      "ops/",
      "web/",
      "identity/",
    ],
    packages: ["node:", "commander", "@inquirer/prompts", "unhomoglyph"],
    bannedGlobals: [],
  },
};

/** Which rule covers `path` (relative to lib/), or null. */
function ruleKeyFor(path: string): string | null {
  if (path === "frame.ts" || path === "wire/native_aead.ts") return path;
  if (/^client\/[^/]+\.ts$/.test(path)) return "client/*";
  for (const key of Object.keys(rules)) {
    if (key.endsWith("/") && path.startsWith(key)) return key;
  }
  return null;
}

function allowed(target: string, patterns: string[]): boolean {
  return patterns.some((pattern) =>
    pattern === "client/*"
      ? /^client\/[^/]+\.ts$/.test(target)
      : pattern.endsWith("/")
      ? target.startsWith(pattern)
      : target === pattern
  );
}

/** Comments and string contents removed, so a word in a comment is not a use. */
function codeOnly(source: string): string {
  return source
    .replace(/\/\*[\s\S]*?\*\//g, " ")
    .replace(/(^|[^:"'`\\])\/\/.*$/gm, "$1")
    .replace(/`(?:\\[\s\S]|[^`\\])*`/g, "``")
    .replace(/"(?:\\.|[^"\\\n])*"/g, '""')
    .replace(/'(?:\\.|[^'\\\n])*'/g, "''");
}

/** Every module specifier of `source`: static and dynamic imports, re-exports, `new URL(x, import.meta.url)`. */
export function specifiersOf(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /(?:^|\n)\s*(?:import|export)\b[^;"']*?\bfrom\s*["']([^"']+)["']/g,
    /(?:^|\n)\s*import\s*["']([^"']+)["']/g,
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
    /new\s+URL\(\s*["']([^"']+)["']\s*,\s*import\.meta\.url/g,
  ];
  for (const pattern of patterns) {
    for (const match of source.matchAll(pattern)) found.push(match[1]!);
  }
  return found;
}

/** What breaks the rule in one file's source; `path` is relative to lib/. */
export function problemsOf(path: string, source: string, rule: FolderRule): string[] {
  const problems: string[] = [];
  for (const specifier of specifiersOf(source)) {
    if (specifier.startsWith(".")) {
      const absolute = new URL(specifier, new URL(path, libDir)).pathname;
      // Outside lib/ (main.ts, deno.json): named from lib/, as "../main.ts".
      const target = absolute.startsWith(libDir.pathname)
        ? absolute.slice(libDir.pathname.length)
        : `../${absolute.slice(new URL("../", libDir).pathname.length)}`;
      if (!allowed(target, rule.mayImport) || (rule.neverImport ?? []).includes(target)) {
        problems.push(`${path} imports ${target}`);
      }
    } else if (!rule.packages.some((prefix) => specifier.startsWith(prefix))) {
      problems.push(`${path} imports the package ${specifier}`);
    }
  }
  const code = codeOnly(source);
  for (const name of rule.bannedGlobals) {
    if (new RegExp(`(?<![\\w.$#])${name}\\s*[.\\[(]`).test(code)) {
      problems.push(`${path} uses ${name}`);
    }
  }
  return problems;
}

async function* sourcesBelow(dir: URL, prefix = ""): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = prefix + entry.name;
    if (entry.isDirectory) yield* sourcesBelow(new URL(`${entry.name}/`, dir), `${path}/`);
    else if (/\.(ts|tsx)$/.test(entry.name) && !entry.name.endsWith(".d.ts")) yield path;
  }
}

Deno.test("the checker itself catches a forbidden import, a package and a Deno or DOM call", () => {
  const core = rules["client/*"]!;
  const bad = [
    'import { openTty } from "./terminal/tty.ts";',
    'import { x } from "commander";',
    "const socket = await Deno.connect({ port: 1 });",
    "document.title = 'x';",
    '// Deno.exit() in a comment is fine\nconst s = "Deno.exit()";',
  ].join("\n");
  assertEquals(problemsOf("client/example.ts", bad, core), [
    "client/example.ts imports client/terminal/tty.ts",
    "client/example.ts imports the package commander",
    "client/example.ts uses Deno",
    "client/example.ts uses document",
  ]);
  assertEquals(
    problemsOf("wire/example.ts", 'import { a } from "../server/room.ts";', rules["wire/"]!),
    ["wire/example.ts imports server/room.ts"],
  );
  assertEquals(problemsOf("wire/ok.ts", 'import { a } from "../frame.ts";', rules["wire/"]!), []);
  assertEquals(
    problemsOf("web/page/x.ts", 'import { a } from "../../wire/native_aead.ts";', rules["web/"]!),
    ["web/page/x.ts imports wire/native_aead.ts"],
  );
});

Deno.test("lib/wire and the client core import only what their headers allow; servers and stores keep to their folders", async () => {
  const problems: string[] = [];
  let checked = 0;
  for await (const path of sourcesBelow(libDir)) {
    const key = ruleKeyFor(path);
    if (key === null) continue;
    checked++;
    problems.push(...problemsOf(path, await Deno.readTextFile(new URL(path, libDir)), rules[key]!));
  }
  assert(checked > 40, `only ${checked} files were checked: did lib/ move?`);
  assertEquals(problems, []);
});

Deno.test("deno task check type-checks every folder of lib/ (the page apart, with the DOM's types)", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  const command: string = config.tasks.check.command;
  for await (const entry of Deno.readDir(libDir)) {
    if (!entry.isDirectory) continue;
    const wanted = entry.name === "web"
      ? "deno check lib/web/page/main.tsx"
      : `'lib/${entry.name}/**/*.ts'`;
    assert(command.includes(wanted), `deno task check misses lib/${entry.name}/: add ${wanted}`);
  }
});
