/**
 * `lanchat join` without an address: find the server to join.
 *
 * Owns: the choice rules (one server answered: that one; several: a select
 * prompt, or a list and no choice when input is piped; none: what to try,
 * plus the servers joined before). Imports the discovery client, the recent
 * servers file, lib/client/ (inert printing, address format) and
 * lib/cli/run_command.ts (how suggested commands are written); never the
 * server or the session.
 */
import { select } from "@inquirer/prompts";
import { defaultDiscoveryPort } from "../../discovery/discovery.ts";
import {
  discoverServers,
  joinAddress,
  noNetworkPrefix,
  noServerAdvice,
  sameIdWarning,
} from "../../discovery/discovery_client.ts";
import type { FoundServer } from "../../discovery/discovery_client.ts";
import { defaultRecentServersPath, loadRecentServers } from "./recent_servers.ts";
import type { RecentServer } from "./recent_servers.ts";
import { inert } from "./format.ts";
import { formatAddress } from "../address.ts";
import { documentedCommand } from "../../cli/run_command.ts";
import type { CommandFormat } from "../../cli/run_command.ts";

/** The server to join. */
export interface ChosenServer {
  host: string;
  port: number;
  /** Room name when known (discovery, or remembered). */
  name?: string;
}

/** One entry of the select prompt. */
export interface ServerChoice {
  /** The line shown (already inert). */
  label: string;
  value: ChosenServer;
}

/** Asks the person to pick one of `choices`; resolves null when they cancel (Ctrl-C). */
export type ServerSelector = (
  message: string,
  choices: ServerChoice[],
) => Promise<ChosenServer | null>;

/** Options of {@link chooseServer}. */
export interface ChooseServerOptions {
  /** UDP discovery port. Default 9000. */
  discoveryPort?: number;
  /** How long discovery waits for answers, in ms. Default 1000. */
  timeoutMs?: number;
  /** Where the probe goes. Default: every broadcast address (see discoverServers). */
  targets?: string[];
  /** Whether a prompt may be shown. Default: `Deno.stdin.isTerminal()`. */
  interactive?: boolean;
  /** The recent-servers file. Default: defaultRecentServersPath() (none if that fails). */
  recentPath?: string;
  /** The prompt. Default: `select` of @inquirer/prompts. */
  select?: ServerSelector;
  /** Where status and advice go. Default: stderr (stdout stays for chat). */
  write?: (line: string) => void;
  /**
   * How suggested commands are written. Default: documentedCommand
   * (`lanchat join ...`); main.ts passes lanchatCommand, the form that runs here.
   */
  command?: CommandFormat;
}

/** The default selector: an @inquirer/prompts `select`; Ctrl-C gives null. */
export const selectWithPrompt: ServerSelector = async (message, choices) => {
  try {
    return await select({
      message,
      choices: choices.map((choice) => ({ name: choice.label, value: choice.value })),
    });
  } catch (error) {
    if (error instanceof Error && error.name === "ExitPromptError") return null;
    throw error;
  }
};

function describeFound(server: FoundServer): string {
  const people = `${server.users} online`;
  return `${inert(server.name)}  ${joinAddress(server)}  (${people}${
    server.secure ? ", password" : ""
  }${server.sameIdElsewhere > 0 ? "; another address claims to be this server" : ""})`;
}

function describeRecent(server: RecentServer): string {
  const when = new Date(server.lastJoined).toLocaleDateString();
  const name = server.name === undefined ? "" : `${inert(server.name)}  `;
  return `${name}${formatAddress(server)}  (joined before, ${when})`;
}

function fromFound(server: FoundServer): ChosenServer {
  return { host: server.addresses[0] ?? "", port: server.port, name: server.name };
}

function fromRecent(server: RecentServer): ChosenServer {
  return {
    host: server.host,
    port: server.port,
    ...(server.name === undefined ? {} : { name: server.name }),
  };
}

async function readRecent(path: string | undefined): Promise<RecentServer[]> {
  try {
    return await loadRecentServers(path ?? defaultRecentServersPath());
  } catch {
    return []; // No home folder or no --allow-env: nothing remembered.
  }
}

/**
 * Discovers servers and picks the one to join, telling the person what
 * happens through `write`. Resolves null (after saying why and what to do)
 * when there is nothing to join, several servers answered and no prompt can
 * be shown, or the person cancelled; the caller then exits 1.
 *
 * @example
 * const chosen = await chooseServer({});
 * if (chosen === null) return 1;
 * return await join({ host: chosen.host, port: chosen.port });
 */
export async function chooseServer(
  options: ChooseServerOptions = {},
): Promise<ChosenServer | null> {
  const write = options.write ?? ((line: string) => console.error(line));
  const interactive = options.interactive ?? Deno.stdin.isTerminal();
  const ask = options.select ?? selectWithPrompt;
  const port = options.discoveryPort ?? defaultDiscoveryPort;
  const timeoutMs = options.timeoutMs ?? 1000;
  const command = options.command ?? documentedCommand;

  write(`looking for lanchat servers on your network (UDP port ${port}, ${timeoutMs} ms)...`);
  const problems: string[] = [];
  const found = await discoverServers({
    port,
    timeoutMs,
    ...(options.targets === undefined ? {} : { targets: options.targets }),
    onProblem: (problem) => problems.push(problem),
    command,
  });
  const recent = await readRecent(options.recentPath);

  if (found.length === 1) {
    const server = found[0]!;
    write(`found room "${inert(server.name)}" at ${joinAddress(server)}; joining`);
    return fromFound(server);
  }

  if (found.length > 1) {
    const warning = sameIdWarning(found, command);
    if (warning !== null) write(warning.replace(" (marked *)", ""));
    if (!interactive) {
      write(`${found.length} servers answered; say which one to join:`);
      for (const server of found) {
        write(`  ${command("join", joinAddress(server))}    (room "${inert(server.name)}")`);
      }
      return null;
    }
    const answered = new Set(found.map((server) => joinAddress(server)));
    const choices = [
      ...found.map((server) => ({ label: describeFound(server), value: fromFound(server) })),
      ...recent.filter((server) => !answered.has(formatAddress(server)))
        .map((server) => ({ label: describeRecent(server), value: fromRecent(server) })),
    ];
    return await ask("Which room do you want to join?", choices);
  }

  const noNetwork = problems.find((problem) => problem.startsWith(noNetworkPrefix));
  if (noNetwork !== undefined) {
    // Nothing was sent anywhere: the advice about servers and firewalls does not apply.
    write(noNetwork);
  } else {
    write(`no lanchat server answered within ${timeoutMs} ms.`);
    for (const problem of problems) write(`  (${problem})`);
    for (const line of noServerAdvice(port, command)) write(line);
  }
  if (recent.length === 0) return null;
  if (!interactive) {
    write("Servers you joined before:");
    for (const server of recent) {
      write(
        `  ${command("join", formatAddress(server))}${
          server.name === undefined ? "" : `    (room "${inert(server.name)}")`
        }`,
      );
    }
    return null;
  }
  return await ask(
    "No server answered. Join one you used before?",
    recent.map((server) => ({ label: describeRecent(server), value: fromRecent(server) })),
  );
}
