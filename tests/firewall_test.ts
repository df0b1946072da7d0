/**
 * `lanchat firewall`: the exact commands for every firewall, with non-default
 * ports (TCP 9100 chat, TCP 9101 web, UDP 9200 discovery), this OS first.
 */
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import {
  firewallCommandFor,
  firewallHints,
  localSubnets,
  runFirewall,
} from "../lib/ops/firewall.ts";
import type { FirewallHintOptions } from "../lib/ops/firewall.ts";

const ports = { port: 9100, webPort: 9101, discoveryPort: 9200 };
const oneSubnet: FirewallHintOptions = {
  os: "linux",
  ...ports,
  subnets: ["10.77.0.0/16"],
  program: "/opt/lanchat/lanchat",
};

/** The lines of the section whose title starts with `title`, up to the blank line after it. */
function section(text: string, title: string): string[] {
  const lines = text.split("\n");
  const start = lines.findIndex((line) => line.startsWith(`== ${title}`));
  assert(start >= 0, `a section "${title}" in:\n${text}`);
  const end = lines.indexOf("", start);
  return lines.slice(start + 1, end === -1 ? undefined : end);
}

function titles(text: string): string[] {
  return text.split("\n").filter((line) => line.startsWith("== "))
    .map((line) => line.replace(/^== (.+?)(?: \(.*)? ==$/, "$1"));
}

Deno.test("the current OS comes first, then Linux, Windows and macOS", () => {
  const linux = ["Linux: ufw", "Linux: firewalld", "Linux: iptables", "Linux: nftables"];
  const windows = ["Windows: PowerShell", "Windows: netsh"];
  const mac = ["macOS: application firewall", "macOS: pf"];
  assertEquals(titles(firewallHints({ ...oneSubnet, os: "linux" })), [
    ...linux,
    ...windows,
    ...mac,
  ]);
  assertEquals(titles(firewallHints({ ...oneSubnet, os: "windows" })), [
    ...windows,
    ...linux,
    ...mac,
  ]);
  assertEquals(titles(firewallHints({ ...oneSubnet, os: "darwin" })), [
    ...mac,
    ...linux,
    ...windows,
  ]);
  assertEquals(titles(firewallHints({ ...oneSubnet, os: "freebsd" })), [
    ...linux,
    ...windows,
    ...mac,
  ]);
  const header = firewallHints({ ...oneSubnet, os: "windows" }).split("\n").slice(0, 3);
  assertEquals(header, [
    "lanchat needs these ports open on the machine that runs `lanchat serve`: " +
    "TCP 9100 (chat), TCP 9101 (web page), UDP 9200 (discovery).",
    "Your local networks: 10.77.0.0/16. Each section lets in only these first, then shows the " +
    "open-to-all variant.",
    "Use the section of the one firewall that is on; Windows comes first because this machine runs it.",
  ]);
});

Deno.test("ufw: scoped rules, open-to-all rules, and letting discovery answers in", () => {
  assertEquals(section(firewallHints(oneSubnet), "Linux: ufw"), [
    "only your local networks:",
    "  sudo ufw allow proto tcp from 10.77.0.0/16 to any port 9100 comment 'lanchat chat'",
    "  sudo ufw allow proto tcp from 10.77.0.0/16 to any port 9101 comment 'lanchat web'",
    "  sudo ufw allow proto udp from 10.77.0.0/16 to any port 9200 comment 'lanchat discovery'",
    "open to all (any address):",
    "  sudo ufw allow 9100/tcp comment 'lanchat chat'",
    "  sudo ufw allow 9101/tcp comment 'lanchat web'",
    "  sudo ufw allow 9200/udp comment 'lanchat discovery'",
    "on machines that run `lanchat discover` or `lanchat join` without an address:",
    "servers answer from UDP port 9200; if discover finds nothing there, also run:",
    "  sudo ufw allow proto udp from 10.77.0.0/16 port 9200 to any comment 'lanchat discovery answers'",
  ]);
});

Deno.test("firewalld: rich rules per subnet, ports for all, then a reload", () => {
  const rich = (body: string) =>
    `  sudo firewall-cmd --permanent --add-rich-rule='rule family="ipv4" source address="10.77.0.0/16" ${body} accept'`;
  assertEquals(section(firewallHints(oneSubnet), "Linux: firewalld"), [
    "only your local networks:",
    rich('port port="9100" protocol="tcp"'),
    rich('port port="9101" protocol="tcp"'),
    rich('port port="9200" protocol="udp"'),
    "  sudo firewall-cmd --reload",
    "open to all (any address):",
    "  sudo firewall-cmd --permanent --add-port=9100/tcp",
    "  sudo firewall-cmd --permanent --add-port=9101/tcp",
    "  sudo firewall-cmd --permanent --add-port=9200/udp",
    "  sudo firewall-cmd --reload",
    "on machines that run `lanchat discover` or `lanchat join` without an address:",
    "servers answer from UDP port 9200; if discover finds nothing there, also run:",
    rich('source-port port="9200" protocol="udp"'),
    "  sudo firewall-cmd --reload",
  ]);
});

Deno.test("iptables and nftables: inserted rules with comments, several subnets in one rule", () => {
  const two = firewallHints({ ...oneSubnet, subnets: ["192.168.1.0/24", "10.77.0.0/16"] });
  assertEquals(section(two, "Linux: iptables"), [
    "only your local networks:",
    '  sudo iptables -I INPUT -p tcp -s 192.168.1.0/24,10.77.0.0/16 --dport 9100 -m comment --comment "lanchat chat" -j ACCEPT',
    '  sudo iptables -I INPUT -p tcp -s 192.168.1.0/24,10.77.0.0/16 --dport 9101 -m comment --comment "lanchat web" -j ACCEPT',
    '  sudo iptables -I INPUT -p udp -s 192.168.1.0/24,10.77.0.0/16 --dport 9200 -m comment --comment "lanchat discovery" -j ACCEPT',
    "open to all (any address):",
    '  sudo iptables -I INPUT -p tcp --dport 9100 -m comment --comment "lanchat chat" -j ACCEPT',
    '  sudo iptables -I INPUT -p tcp --dport 9101 -m comment --comment "lanchat web" -j ACCEPT',
    '  sudo iptables -I INPUT -p udp --dport 9200 -m comment --comment "lanchat discovery" -j ACCEPT',
    "on machines that run `lanchat discover` or `lanchat join` without an address:",
    "servers answer from UDP port 9200; if discover finds nothing there, also run:",
    '  sudo iptables -I INPUT -p udp -s 192.168.1.0/24,10.77.0.0/16 --sport 9200 -m comment --comment "lanchat discovery answers" -j ACCEPT',
    "these last until reboot; to keep them: sudo netfilter-persistent save (Debian, Ubuntu)",
    "or sudo service iptables save (RHEL)",
  ]);
  assertEquals(section(two, "Linux: nftables"), [
    "these go into table inet filter, chain input (Debian's /etc/nftables.conf);",
    "see yours with: sudo nft list ruleset",
    "only your local networks:",
    `  sudo nft 'insert rule inet filter input ip saddr { 192.168.1.0/24, 10.77.0.0/16 } tcp dport 9100 accept comment "lanchat chat"'`,
    `  sudo nft 'insert rule inet filter input ip saddr { 192.168.1.0/24, 10.77.0.0/16 } tcp dport 9101 accept comment "lanchat web"'`,
    `  sudo nft 'insert rule inet filter input ip saddr { 192.168.1.0/24, 10.77.0.0/16 } udp dport 9200 accept comment "lanchat discovery"'`,
    "open to all (any address):",
    `  sudo nft 'insert rule inet filter input tcp dport 9100 accept comment "lanchat chat"'`,
    `  sudo nft 'insert rule inet filter input tcp dport 9101 accept comment "lanchat web"'`,
    `  sudo nft 'insert rule inet filter input udp dport 9200 accept comment "lanchat discovery"'`,
    "on machines that run `lanchat discover` or `lanchat join` without an address:",
    "servers answer from UDP port 9200; if discover finds nothing there, also run:",
    `  sudo nft 'insert rule inet filter input ip saddr { 192.168.1.0/24, 10.77.0.0/16 } udp sport 9200 accept comment "lanchat discovery answers"'`,
    "these last until reboot; to keep them, add them to /etc/nftables.conf",
  ]);
  assertMatch(
    section(firewallHints(oneSubnet), "Linux: nftables")[3]!,
    /ip saddr 10\.77\.0\.0\/16 tcp dport 9100 accept/,
  );
});

Deno.test("Windows: New-NetFirewallRule and netsh, scoped with RemoteAddress / remoteip", () => {
  const two = firewallHints({
    ...oneSubnet,
    os: "windows",
    subnets: ["192.168.1.0/24", "10.77.0.0/16"],
  });
  const rule = (purpose: string, protocol: string, port: number, tail: string) =>
    `  New-NetFirewallRule -DisplayName "lanchat ${purpose} (${protocol} ${port}${tail})" ` +
    `-Direction Inbound -Action Allow -Protocol ${protocol} -LocalPort ${port}`;
  const scope = ' -RemoteAddress "192.168.1.0/24","10.77.0.0/16"';
  assertEquals(section(two, "Windows: PowerShell"), [
    "only your local networks:",
    rule("chat", "TCP", 9100, "") + scope,
    rule("web", "TCP", 9101, "") + scope,
    rule("discovery", "UDP", 9200, "") + scope,
    "open to all (any address):",
    rule("chat", "TCP", 9100, ", any address"),
    rule("web", "TCP", 9101, ", any address"),
    rule("discovery", "UDP", 9200, ", any address"),
    "if Windows once asked about lanchat (or deno) and you chose Cancel, it made a Block rule,",
    "and Block rules win over these; find it with:",
    "  Get-NetFirewallRule -Direction Inbound -Action Block | Where-Object { $_.DisplayName -match 'lanchat|deno' }",
    "and remove it with: Remove-NetFirewallRule -Name <its Name>",
  ]);
  const netsh = (purpose: string, protocol: string, port: number, tail: string) =>
    `  netsh advfirewall firewall add rule name="lanchat ${purpose} (${protocol} ${port}${tail})" ` +
    `dir=in action=allow protocol=${protocol} localport=${port}`;
  assertEquals(section(two, "Windows: netsh"), [
    "only your local networks:",
    netsh("chat", "TCP", 9100, "") + " remoteip=192.168.1.0/24,10.77.0.0/16",
    netsh("web", "TCP", 9101, "") + " remoteip=192.168.1.0/24,10.77.0.0/16",
    netsh("discovery", "UDP", 9200, "") + " remoteip=192.168.1.0/24,10.77.0.0/16",
    "open to all (any address):",
    netsh("chat", "TCP", 9100, ", any address"),
    netsh("web", "TCP", 9101, ", any address"),
    netsh("discovery", "UDP", 9200, ", any address"),
    "Windows lets answers to `lanchat discover` in by itself (unicast responses to a",
    "broadcast are allowed for 3 seconds).",
  ]);
});

Deno.test("macOS: the application firewall allows the program; pf takes rules in an anchor", () => {
  const text = firewallHints({ ...oneSubnet, os: "darwin" });
  const tool = "/usr/libexec/ApplicationFirewall/socketfilterfw";
  assertEquals(section(text, "macOS: application firewall"), [
    "it allows programs, not ports or networks, so it cannot be scoped to your subnets;",
    "it is off unless you turned it on. Is it on?",
    `  ${tool} --getglobalstate`,
    "let lanchat accept connections (TCP and UDP):",
    `  sudo ${tool} --add /opt/lanchat/lanchat`,
    `  sudo ${tool} --unblockapp /opt/lanchat/lanchat`,
    '"Block all incoming connections" overrides this; check and turn it off with:',
    `  ${tool} --getblockall`,
    `  sudo ${tool} --setblockall off`,
  ]);
  assertEquals(section(text, "macOS: pf"), [
    "only your local networks:",
    "  printf '%s\\n' 'pass in quick proto tcp from 10.77.0.0/16 to any port 9100' " +
    "'pass in quick proto tcp from 10.77.0.0/16 to any port 9101' " +
    "'pass in quick proto udp from 10.77.0.0/16 to any port 9200' | sudo pfctl -a com.apple/lanchat -f -",
    "open to all (any address):",
    "  printf '%s\\n' 'pass in quick proto tcp to any port 9100' 'pass in quick proto tcp to any port 9101' " +
    "'pass in quick proto udp to any port 9200' | sudo pfctl -a com.apple/lanchat -f -",
    "the com.apple/lanchat anchor lasts until reboot (the default /etc/pf.conf loads com.apple/*)",
  ]);
  // A program path with a space is quoted for the shell.
  const spaced = firewallHints({
    ...oneSubnet,
    os: "darwin",
    program: "/Users/ana/My Apps/lanchat",
  });
  assert(spaced.includes(`sudo ${tool} --add '/Users/ana/My Apps/lanchat'`));
  assertMatch(
    firewallHints({ ...oneSubnet, subnets: ["10.77.0.0/16", "192.168.1.0/24"] }),
    /from \{ 10\.77\.0\.0\/16, 192\.168\.1\.0\/24 \} to any port 9100/,
  );
});

Deno.test("without local networks only open-to-all rules; --no-web and --no-discovery drop their rules", () => {
  const open = firewallHints({ ...oneSubnet, subnets: [] });
  assert(!open.includes("only your local networks"));
  assert(
    open.includes("No local network address was found, so only the open-to-all rules are shown."),
  );
  assertEquals(section(open, "Linux: ufw").slice(0, 4), [
    "open to all (any address):",
    "  sudo ufw allow 9100/tcp comment 'lanchat chat'",
    "  sudo ufw allow 9101/tcp comment 'lanchat web'",
    "  sudo ufw allow 9200/udp comment 'lanchat discovery'",
  ]);
  assertEquals(
    section(open, "Linux: firewalld").at(-2),
    "  sudo firewall-cmd --permanent --add-source-port=9200/udp",
  );

  const chatOnly = firewallHints({ ...oneSubnet, webPort: null, discoveryPort: null });
  assert(!/9101|9200|discovery/.test(chatOnly.split("\n").slice(3).join("\n")), chatOnly);
  assertMatch(chatOnly, /open on the machine that runs `lanchat serve`: TCP 9100 \(chat\)\.\n/);
});

Deno.test("local subnets are the networks of this machine's addresses, each once", () => {
  assertEquals(
    localSubnets([
      { interface: "eth0", address: "192.168.1.20", prefix: 24 },
      { interface: "eth0:1", address: "192.168.1.21", prefix: 24 },
      { interface: "wlan0", address: "10.77.33.7", prefix: 16 },
      { interface: "tun0", address: "10.8.0.2", prefix: 32 },
      { interface: "odd", address: "172.16.5.4", prefix: 20 },
    ]),
    ["192.168.1.0/24", "10.77.0.0/16", "172.16.0.0/20"],
  );
});

Deno.test("runFirewall prints the hints for this machine with the given ports", async () => {
  const lines: string[] = [];
  assertEquals(await runFirewall({ ...ports }, { out: (line) => lines.push(line) }), 0);
  assertMatch(lines[0]!, /TCP 9100 \(chat\), TCP 9101 \(web page\), UDP 9200 \(discovery\)\.$/);
  const noWeb: string[] = [];
  await runFirewall({ ...ports, web: false, discovery: false }, {
    out: (line) => noWeb.push(line),
  });
  assertMatch(noWeb[0]!, /: TCP 9100 \(chat\)\.$/);
});

Deno.test("scripts/firewall-hint.ts prints the same, and refuses a bad port", async () => {
  const run = (args: string[]) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-sys", "--allow-read", "scripts/firewall-hint.ts", ...args],
      cwd: new URL("../", import.meta.url),
      stdout: "piped",
      stderr: "piped",
    }).output();
  const ok = await run(["--port", "9100", "--web-port", "9101", "--discovery-port", "9200"]);
  assertEquals(ok.code, 0);
  const text = new TextDecoder().decode(ok.stdout);
  assertMatch(text, /TCP 9100 \(chat\), TCP 9101 \(web page\), UDP 9200 \(discovery\)/);
  assertMatch(text, /sudo ufw allow 9200\/udp comment 'lanchat discovery'/);
  const bad = await run(["--port", "99999"]);
  assertEquals(bad.code, 2);
  assertMatch(new TextDecoder().decode(bad.stderr), /--port takes a port from 1 to 65535/);
});

Deno.test("serve's pointer names only the non-default ports", () => {
  assertEquals(
    firewallCommandFor({ port: 9000, webPort: 9001, discoveryPort: 9000 }),
    "lanchat firewall",
  );
  assertEquals(
    firewallCommandFor({ port: 9100, webPort: 9101, discoveryPort: 9200 }),
    "lanchat firewall --port 9100 --web-port 9101 --discovery-port 9200",
  );
  assertEquals(
    firewallCommandFor({ port: 9000, webPort: null, discoveryPort: null }),
    "lanchat firewall --no-web --no-discovery",
  );
});
