/**
 * `lanchat firewall` and scripts/firewall-hint.ts: the exact commands that
 * open lanchat's ports (TCP chat, TCP web, UDP discovery) in each common
 * firewall, this machine's OS first.
 *
 * Owns: the rule texts for ufw, firewalld, iptables, nftables, Windows
 * (PowerShell and netsh) and macOS (application firewall and pf), and the
 * local subnets they are scoped to. `firewallHints` is pure (OS, ports and
 * subnets passed in) so tests check every OS on any machine. Imports
 * lib/discovery/lan_addresses.ts and lib/cli/run_command.ts (how the
 * lanchat commands it names are written) only.
 */
import { ipv4ToNumber, lanAddresses, numberToIpv4 } from "../discovery/lan_addresses.ts";
import type { LanAddress } from "../discovery/lan_addresses.ts";
import { documentedCommand } from "../cli/run_command.ts";
import type { CommandFormat } from "../cli/run_command.ts";

/** Options of {@link firewallHints}. */
export interface FirewallHintOptions {
  /** The OS whose firewalls come first, as `Deno.build.os` ("linux", "darwin", "windows", ...). */
  os: string;
  /** TCP chat port. */
  port: number;
  /** TCP web port, or null when the server runs with --no-web. */
  webPort: number | null;
  /** UDP discovery port, or null when the server runs with --no-discovery. */
  discoveryPort: number | null;
  /** Local IPv4 networks to let in, as "192.168.1.0/24". Empty: only the open-to-all rules. */
  subnets: string[];
  /** The lanchat program, for the macOS application firewall. Default "/usr/local/bin/lanchat". */
  program?: string;
  /**
   * How the lanchat commands the text names are written. Default:
   * documentedCommand (`lanchat serve`); the CLI passes lanchatCommand.
   */
  command?: CommandFormat;
}

interface PortRule {
  protocol: "tcp" | "udp";
  port: number;
  /** Short purpose, used in rule names: "chat", "web", "discovery". */
  purpose: string;
}

/**
 * The networks of `addresses` as "NETWORK/PREFIX" ("192.168.1.20" /24 ->
 * "192.168.1.0/24"), each once, in order. Single-address (/32) links are
 * left out: they are no network to let in.
 */
export function localSubnets(addresses: LanAddress[]): string[] {
  const subnets: string[] = [];
  for (const { address, prefix } of addresses) {
    const ip = ipv4ToNumber(address);
    if (ip === null || !Number.isInteger(prefix) || prefix < 0 || prefix >= 32) continue;
    const size = 2 ** (32 - prefix);
    const network = Math.floor(ip / size) * size;
    const subnet = `${numberToIpv4(network)}/${prefix}`;
    if (!subnets.includes(subnet)) subnets.push(subnet);
  }
  return subnets;
}

function portRules(options: FirewallHintOptions): PortRule[] {
  const rules: PortRule[] = [{ protocol: "tcp", port: options.port, purpose: "chat" }];
  if (options.webPort !== null) {
    rules.push({ protocol: "tcp", port: options.webPort, purpose: "web" });
  }
  if (options.discoveryPort !== null) {
    rules.push({ protocol: "udp", port: options.discoveryPort, purpose: "discovery" });
  }
  return rules;
}

/** One firewall's section: a title, then lines (commands indented by two spaces). */
interface Section {
  os: "linux" | "windows" | "darwin";
  title: string;
  lines: string[];
}

const indent = (commands: string[]) => commands.map((command) => `  ${command}`);

/** Scoped block, open-to-all block, and the note on discovery answers for Linux firewalls. */
function blocks(
  subnets: string[],
  scoped: () => string[],
  open: () => string[],
): string[] {
  const lines: string[] = [];
  if (subnets.length > 0) lines.push("only your local networks:", ...indent(scoped()));
  lines.push("open to all (any address):", ...indent(open()));
  return lines;
}

function answerNote(discoveryPort: number, command: CommandFormat): string {
  return `on machines that run \`${command("discover")}\` or \`${
    command("join")
  }\` without an address:\n` +
    `servers answer from UDP port ${discoveryPort}; if discover finds nothing there, also run:`;
}

function ufw(
  rules: PortRule[],
  subnets: string[],
  discoveryPort: number | null,
  command: CommandFormat,
): Section {
  const lines = blocks(
    subnets,
    () =>
      rules.flatMap((rule) =>
        subnets.map((subnet) =>
          `sudo ufw allow proto ${rule.protocol} from ${subnet} to any port ${rule.port} comment 'lanchat ${rule.purpose}'`
        )
      ),
    () =>
      rules.map((rule) =>
        `sudo ufw allow ${rule.port}/${rule.protocol} comment 'lanchat ${rule.purpose}'`
      ),
  );
  if (discoveryPort !== null) {
    const from = subnets.length > 0 ? subnets : ["any"];
    lines.push(
      answerNote(discoveryPort, command),
      ...indent(
        from.map((subnet) =>
          `sudo ufw allow proto udp from ${subnet} port ${discoveryPort} to any comment 'lanchat discovery answers'`
        ),
      ),
    );
  }
  return { os: "linux", title: "Linux: ufw (Ubuntu, Mint; is it on? sudo ufw status)", lines };
}

function firewalld(
  rules: PortRule[],
  subnets: string[],
  discoveryPort: number | null,
  command: CommandFormat,
): Section {
  const reload = "sudo firewall-cmd --reload";
  const rich = (subnet: string, body: string) =>
    `sudo firewall-cmd --permanent --add-rich-rule='rule family="ipv4" source address="${subnet}" ${body} accept'`;
  const lines = blocks(
    subnets,
    () => [
      ...rules.flatMap((rule) =>
        subnets.map((subnet) =>
          rich(subnet, `port port="${rule.port}" protocol="${rule.protocol}"`)
        )
      ),
      reload,
    ],
    () => [
      ...rules.map((rule) =>
        `sudo firewall-cmd --permanent --add-port=${rule.port}/${rule.protocol}`
      ),
      reload,
    ],
  );
  if (discoveryPort !== null) {
    lines.push(
      answerNote(discoveryPort, command),
      ...indent([
        ...(subnets.length > 0
          ? subnets.map((subnet) =>
            rich(subnet, `source-port port="${discoveryPort}" protocol="udp"`)
          )
          : [`sudo firewall-cmd --permanent --add-source-port=${discoveryPort}/udp`]),
        reload,
      ]),
    );
  }
  return {
    os: "linux",
    title: "Linux: firewalld (Fedora, RHEL, openSUSE; is it on? sudo firewall-cmd --state)",
    lines,
  };
}

function iptables(
  rules: PortRule[],
  subnets: string[],
  discoveryPort: number | null,
  command: CommandFormat,
): Section {
  const sources = subnets.join(",");
  const rule = (match: string, comment: string) =>
    `sudo iptables -I INPUT ${match} -m comment --comment "lanchat ${comment}" -j ACCEPT`;
  const lines = blocks(
    subnets,
    () => rules.map((r) => rule(`-p ${r.protocol} -s ${sources} --dport ${r.port}`, r.purpose)),
    () => rules.map((r) => rule(`-p ${r.protocol} --dport ${r.port}`, r.purpose)),
  );
  if (discoveryPort !== null) {
    const source = subnets.length > 0 ? ` -s ${sources}` : "";
    lines.push(
      answerNote(discoveryPort, command),
      ...indent([rule(`-p udp${source} --sport ${discoveryPort}`, "discovery answers")]),
    );
  }
  lines.push(
    "these last until reboot; to keep them: sudo netfilter-persistent save (Debian, Ubuntu)",
    "or sudo service iptables save (RHEL)",
  );
  return { os: "linux", title: "Linux: iptables", lines };
}

function nftables(
  rules: PortRule[],
  subnets: string[],
  discoveryPort: number | null,
  command: CommandFormat,
): Section {
  const sources = subnets.length === 1 ? subnets[0] : `{ ${subnets.join(", ")} }`;
  const rule = (match: string, comment: string) =>
    `sudo nft 'insert rule inet filter input ${match} accept comment "lanchat ${comment}"'`;
  const lines = [
    "these go into table inet filter, chain input (Debian's /etc/nftables.conf);",
    "see yours with: sudo nft list ruleset",
    ...blocks(
      subnets,
      () => rules.map((r) => rule(`ip saddr ${sources} ${r.protocol} dport ${r.port}`, r.purpose)),
      () => rules.map((r) => rule(`${r.protocol} dport ${r.port}`, r.purpose)),
    ),
  ];
  if (discoveryPort !== null) {
    const source = subnets.length > 0 ? `ip saddr ${sources} ` : "";
    lines.push(
      answerNote(discoveryPort, command),
      ...indent([rule(`${source}udp sport ${discoveryPort}`, "discovery answers")]),
    );
  }
  lines.push("these last until reboot; to keep them, add them to /etc/nftables.conf");
  return { os: "linux", title: "Linux: nftables", lines };
}

function powershell(rules: PortRule[], subnets: string[]): Section {
  const rule = (r: PortRule, extra: string, suffix: string) =>
    `New-NetFirewallRule -DisplayName "lanchat ${r.purpose} (${r.protocol.toUpperCase()} ${r.port}${suffix})" ` +
    `-Direction Inbound -Action Allow -Protocol ${r.protocol.toUpperCase()} -LocalPort ${r.port}${extra}`;
  return {
    os: "windows",
    title: "Windows: PowerShell (run as Administrator)",
    lines: [
      ...blocks(
        subnets,
        () =>
          rules.map((r) =>
            rule(r, ` -RemoteAddress ${subnets.map((subnet) => `"${subnet}"`).join(",")}`, "")
          ),
        () => rules.map((r) => rule(r, "", ", any address")),
      ),
      "if Windows once asked about lanchat (or deno) and you chose Cancel, it made a Block rule,",
      "and Block rules win over these; find it with:",
      "  Get-NetFirewallRule -Direction Inbound -Action Block | Where-Object { $_.DisplayName -match 'lanchat|deno' }",
      "and remove it with: Remove-NetFirewallRule -Name <its Name>",
    ],
  };
}

function netsh(rules: PortRule[], subnets: string[], command: CommandFormat): Section {
  const rule = (r: PortRule, extra: string, suffix: string) =>
    `netsh advfirewall firewall add rule name="lanchat ${r.purpose} (${r.protocol.toUpperCase()} ${r.port}${suffix})" ` +
    `dir=in action=allow protocol=${r.protocol.toUpperCase()} localport=${r.port}${extra}`;
  return {
    os: "windows",
    title: "Windows: netsh (Command Prompt run as Administrator)",
    lines: [
      ...blocks(
        subnets,
        () => rules.map((r) => rule(r, ` remoteip=${subnets.join(",")}`, "")),
        () => rules.map((r) => rule(r, "", ", any address")),
      ),
      `Windows lets answers to \`${command("discover")}\` in by itself (unicast responses to a`,
      "broadcast are allowed for 3 seconds).",
    ],
  };
}

/** `text` as one shell word: as is when plain, else in single quotes. */
function shellWord(text: string): string {
  return /^[\w./+-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}

function macApplicationFirewall(programPath: string): Section {
  const program = shellWord(programPath);
  const tool = "/usr/libexec/ApplicationFirewall/socketfilterfw";
  return {
    os: "darwin",
    title: "macOS: application firewall (System Settings > Network > Firewall)",
    lines: [
      "it allows programs, not ports or networks, so it cannot be scoped to your subnets;",
      "it is off unless you turned it on. Is it on?",
      `  ${tool} --getglobalstate`,
      "let lanchat accept connections (TCP and UDP):",
      `  sudo ${tool} --add ${program}`,
      `  sudo ${tool} --unblockapp ${program}`,
      '"Block all incoming connections" overrides this; check and turn it off with:',
      `  ${tool} --getblockall`,
      `  sudo ${tool} --setblockall off`,
    ],
  };
}

function macPf(rules: PortRule[], subnets: string[]): Section {
  const sources = subnets.length === 1 ? subnets[0] : `{ ${subnets.join(", ")} }`;
  const load = (pfRules: string[]) =>
    `printf '%s\\n' ${
      pfRules.map((r) => `'${r}'`).join(" ")
    } | sudo pfctl -a com.apple/lanchat -f -`;
  return {
    os: "darwin",
    title: "macOS: pf (only if you enabled pf with your own blocking rules; it is off by default)",
    lines: [
      ...blocks(
        subnets,
        () => [
          load(
            rules.map((r) =>
              `pass in quick proto ${r.protocol} from ${sources} to any port ${r.port}`
            ),
          ),
        ],
        () => [load(rules.map((r) => `pass in quick proto ${r.protocol} to any port ${r.port}`))],
      ),
      "the com.apple/lanchat anchor lasts until reboot (the default /etc/pf.conf loads com.apple/*)",
    ],
  };
}

const osNames: Record<string, string> = { linux: "Linux", windows: "Windows", darwin: "macOS" };

/**
 * The firewall commands for lanchat's ports, as text to print. Sections for
 * `os` come first, then Linux, Windows and macOS. With `subnets`, each
 * section first shows rules that let in only those networks, then the
 * open-to-all variant.
 *
 * @example
 * firewallHints({ os: "linux", port: 9000, webPort: 9001, discoveryPort: 9000,
 *   subnets: ["192.168.1.0/24"] });
 */
export function firewallHints(options: FirewallHintOptions): string {
  const rules = portRules(options);
  const { subnets, discoveryPort } = options;
  const program = options.program ?? "/usr/local/bin/lanchat";
  const command = options.command ?? documentedCommand;
  const sections = [
    ufw(rules, subnets, discoveryPort, command),
    firewalld(rules, subnets, discoveryPort, command),
    iptables(rules, subnets, discoveryPort, command),
    nftables(rules, subnets, discoveryPort, command),
    powershell(rules, subnets),
    netsh(rules, subnets, command),
    macApplicationFirewall(program),
    macPf(rules, subnets),
  ];
  const ordered = [
    ...sections.filter((section) => section.os === options.os),
    ...sections.filter((section) => section.os !== options.os),
  ];
  const ports = rules.map((rule) =>
    `${rule.protocol.toUpperCase()} ${rule.port} (${
      rule.purpose === "web" ? "web page" : rule.purpose
    })`
  );
  const current = osNames[options.os];
  const lines = [
    `lanchat needs these ports open on the machine that runs \`${command("serve")}\`: ${
      ports.join(", ")
    }.`,
    subnets.length > 0
      ? `Your local networks: ${subnets.join(", ")}. Each section lets in only these first, then ` +
        "shows the open-to-all variant."
      : "No local network address was found, so only the open-to-all rules are shown.",
    "Use the section of the one firewall that is on" +
    (current === undefined ? "." : `; ${current} comes first because this machine runs it.`),
  ];
  for (const section of ordered) {
    lines.push("", `== ${section.title} ==`, ...section.lines);
  }
  return lines.join("\n") + "\n";
}

/** Flags of `lanchat firewall` and scripts/firewall-hint.ts. */
export interface FirewallFlags {
  /** TCP chat port (`--port`). Default 9000. */
  port?: number;
  /** TCP web port (`--web-port`). Default 9001. */
  webPort?: number;
  /** False with `--no-web`: no web rule. Default true. */
  web?: boolean;
  /** UDP discovery port (`--discovery-port`). Default 9000. */
  discoveryPort?: number;
  /** False with `--no-discovery`: no discovery rule. Default true. */
  discovery?: boolean;
  /**
   * How the lanchat commands the text names are written (no flag). Default:
   * documentedCommand (`lanchat serve`); main.ts passes lanchatCommand.
   */
  command?: CommandFormat;
}

/**
 * Runs `lanchat firewall`: prints {@link firewallHints} for this machine
 * (its OS, its local subnets, this program's path) and returns 0.
 */
export function runFirewall(
  flags: FirewallFlags,
  output: { out: (line: string) => void },
): Promise<number> {
  let program: string | undefined;
  try {
    program = Deno.execPath();
  } catch {
    program = undefined; // No --allow-read: the placeholder path is shown.
  }
  const text = firewallHints({
    os: Deno.build.os,
    port: flags.port ?? 9000,
    webPort: flags.web === false ? null : flags.webPort ?? 9001,
    discoveryPort: flags.discovery === false ? null : flags.discoveryPort ?? 9000,
    subnets: localSubnets(lanAddresses()),
    ...(program === undefined ? {} : { program }),
    ...(flags.command === undefined ? {} : { command: flags.command }),
  });
  for (const line of text.trimEnd().split("\n")) output.out(line);
  return Promise.resolve(0);
}

/**
 * The `lanchat firewall` command line for a server with these ports, with
 * flags only for the non-default ones: what `lanchat serve` points people to.
 * `command` writes it (default documentedCommand, `lanchat firewall ...`;
 * the serve banner passes lanchatCommand, the form that runs here).
 *
 * @example
 * firewallCommandFor({ port: 9000, webPort: 9001, discoveryPort: 9000 }); // "lanchat firewall"
 * firewallCommandFor({ port: 9100, webPort: null, discoveryPort: 9000 });
 * // "lanchat firewall --port 9100 --no-web"
 * firewallCommandFor({ port: 9000, webPort: 9001, discoveryPort: 9000 }, lanchatCommand);
 * // "deno run -A main.ts firewall" from a clone
 */
export function firewallCommandFor(
  ports: { port: number; webPort: number | null; discoveryPort: number | null },
  command: CommandFormat = documentedCommand,
): string {
  const flags: string[] = [];
  if (ports.port !== 9000) flags.push("--port", String(ports.port));
  if (ports.webPort === null) flags.push("--no-web");
  else if (ports.webPort !== 9001) flags.push("--web-port", String(ports.webPort));
  if (ports.discoveryPort === null) flags.push("--no-discovery");
  else if (ports.discoveryPort !== 9000) {
    flags.push("--discovery-port", String(ports.discoveryPort));
  }
  return command("firewall", ...flags);
}
