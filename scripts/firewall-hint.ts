/**
 * Prints the firewall commands that open lanchat's ports on this machine:
 * `deno run --allow-sys --allow-read scripts/firewall-hint.ts [--port N]
 * [--web-port N] [--discovery-port N]` (the same text as `lanchat firewall`).
 *
 * Owns: nothing but its flags; the text comes from lib/ops/firewall.ts.
 */
import { parseArgs } from "node:util";
import { runFirewall } from "../lib/ops/firewall.ts";

function port(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) {
    console.error(`firewall-hint: --${flag} takes a port from 1 to 65535, got "${text}"`);
    Deno.exit(2);
  }
  return Number(text);
}

let values;
try {
  ({ values } = parseArgs({
    args: Deno.args,
    options: {
      port: { type: "string" },
      "web-port": { type: "string" },
      "discovery-port": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  }));
} catch (error) {
  console.error(`firewall-hint: ${error instanceof Error ? error.message : String(error)}`);
  console.error("usage: scripts/firewall-hint.ts [--port N] [--web-port N] [--discovery-port N]");
  Deno.exit(2);
}
if (values.help === true) {
  console.log(
    "usage: scripts/firewall-hint.ts [--port N] [--web-port N] [--discovery-port N]\n" +
      "Prints the commands that open lanchat's ports (defaults 9000/tcp, 9001/tcp, 9000/udp).",
  );
  Deno.exit(0);
}
Deno.exitCode = await runFirewall({
  port: port("port", values.port, 9000),
  webPort: port("web-port", values["web-port"], 9001),
  discoveryPort: port("discovery-port", values["discovery-port"], 9000),
}, { out: (line) => console.log(line) });
