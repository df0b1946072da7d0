/**
 * The scp side of `deno task bench --preset files`: a private OpenSSH sshd on
 * a free 127.0.0.1 port (`sshd -D -e -f CONFIG`, host and client keys made by
 * ssh-keygen in a temp folder, no PAM, its PID file there too), the cipher scp
 * negotiates with it, and one timed scp upload and download of a file.
 *
 * Owns: installing openssh-server when it is missing (as root, apt-get), the
 * sshd config, starting and stopping sshd by PID. Must not import lib/.
 */
import { lines } from "./bench_server.ts";
import { checkSize, lastLine, settle, timedCommand } from "./bench_timed.ts";
import type { Timed } from "./bench_timed.ts";

const loopback = "127.0.0.1";

/**
 * Starts a private sshd with keys made in `dir` (installing openssh-server
 * first when it is missing and we are root), or says why it cannot.
 */
export async function startScpServer(
  dir: string,
  progress: (line: string) => void,
): Promise<SshServer | { problem: string }> {
  const sshdPath = await ensureSshd(progress);
  if (typeof sshdPath !== "string") return sshdPath;
  try {
    return await startSshd(sshdPath, dir);
  } catch (error) {
    return { problem: `sshd could not run: ${errorText(error)}` };
  }
}

/** A private sshd on 127.0.0.1 and what scp needs to use it. */
export interface SshServer extends AsyncDisposable {
  pid: number;
  port: number;
  /** The client's arguments besides the paths: key, port, no known-hosts file. */
  clientArgs: (portFlag: "-P" | "-p") => string[];
  /** Who logs in: the user running the bench. */
  user: string;
  /** The cipher ssh negotiated with it, e.g. chacha20-poly1305@openssh.com. */
  cipher: string;
  /** `ssh -V`. */
  version: string;
}

/** The path of sshd, installing openssh-server (as root) when it is missing. */
async function ensureSshd(progress: (line: string) => void): Promise<string | { problem: string }> {
  const sshd = "/usr/sbin/sshd";
  if (await exists(sshd)) return sshd;
  for (const tool of ["scp", "ssh", "ssh-keygen"]) {
    if (!await onPath(tool)) {
      return { problem: `no ${tool} on PATH (apt-get install openssh-client)` };
    }
  }
  if (Deno.uid() !== 0) {
    return { problem: "no /usr/sbin/sshd; install it as root: apt-get install -y openssh-server" };
  }
  const apt = (args: string[]) =>
    timedCommand("apt-get", args, {
      env: { DEBIAN_FRONTEND: "noninteractive" },
      deadlineMs: 300_000,
    }).catch((error) => ({ problem: errorText(error), seconds: 0, stdout: "" }));
  progress("files: no /usr/sbin/sshd; apt-get install -y openssh-server");
  let installed = await apt(["install", "-y", "openssh-server"]);
  if (installed.problem !== null) {
    progress("files: that failed; apt-get update, then again");
    await apt(["update"]);
    installed = await apt(["install", "-y", "openssh-server"]);
  }
  if (installed.problem === null && await exists(sshd)) return sshd;
  return { problem: `apt-get install -y openssh-server failed: ${installed.problem}` };
}

/** Starts `sshd -D -e` on a free loopback port with keys made in `dir`; throws when it cannot. */
async function startSshd(sshdPath: string, dir: string): Promise<SshServer> {
  await Deno.mkdir(dir, { recursive: true });
  const hostKey = `${dir}/host_ed25519`, clientKey = `${dir}/client_ed25519`;
  for (const key of [hostKey, clientKey]) {
    const made = await timedCommand(
      "ssh-keygen",
      ["-q", "-t", "ed25519", "-N", "", "-C", "lanchat-bench", "-f", key],
      { deadlineMs: 30_000 },
    );
    if (made.problem !== null) throw new Error(`ssh-keygen: ${made.problem}`);
  }
  await Deno.copyFile(`${clientKey}.pub`, `${dir}/authorized_keys`);
  // sshd, run as root, wants its privilege separation folder (the package's service makes it).
  if (Deno.uid() === 0) await Deno.mkdir("/run/sshd", { recursive: true, mode: 0o755 });
  const port = freePort();
  const config = [
    `Port ${port}`,
    `ListenAddress ${loopback}`,
    `HostKey ${hostKey}`,
    `AuthorizedKeysFile ${dir}/authorized_keys`,
    `PidFile ${dir}/sshd.pid`,
    "UsePAM no",
    "StrictModes no",
    "PubkeyAuthentication yes",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "PermitRootLogin prohibit-password",
    "PrintMotd no",
    "Subsystem sftp internal-sftp",
    "LogLevel ERROR",
  ].join("\n") + "\n";
  await Deno.writeTextFile(`${dir}/sshd_config`, config);
  const child = new Deno.Command(sshdPath, {
    args: ["-D", "-e", "-f", `${dir}/sshd_config`],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  const logRead = (async () => {
    for await (const line of lines(child.stderr)) log = (log + line + "\n").slice(-2000);
  })();
  let exited = false;
  const status = child.status.finally(() => exited = true);
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // Already gone.
    }
    await status;
    await logRead.catch(() => {});
  };
  try {
    if (!await acceptsConnections(port, () => exited)) {
      throw new Error(`sshd did not listen on ${loopback}:${port}: ${log.trim() || "no output"}`);
    }
    const user = (await commandOutput("id", ["-un"])).trim() || "root";
    const clientArgs = (portFlag: "-P" | "-p") => [
      ...["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"],
      ...["-o", "BatchMode=yes", "-o", "LogLevel=ERROR"],
      ...["-i", clientKey, portFlag, String(port)],
    ];
    // One login with -v: proves the key works and says which cipher scp gets.
    const probe = new Deno.Command("ssh", {
      args: [...clientArgs("-p"), "-v", `${user}@${loopback}`, "true"],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
      signal: AbortSignal.timeout(30_000),
    });
    const probed = await probe.output();
    const probeLog = new TextDecoder().decode(probed.stderr);
    if (!probed.success) {
      throw new Error(`ssh to it failed: ${lastLine(probeLog)}; sshd said: ${log.trim()}`);
    }
    const cipher = probeLog.match(/kex: client->server cipher: (\S+)/)?.[1] ?? "unknown";
    const version = (await commandOutput("ssh", ["-V"], "stderr")).trim();
    return { pid: child.pid, port, clientArgs, user, cipher, version, [Symbol.asyncDispose]: stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** One scp upload and one download of `file`, each timed; `dir` is emptied after. */
export async function scpRound(
  sshd: SshServer,
  file: string,
  dir: string,
  deadlineMs: number,
): Promise<{ upload: Timed; download: Timed }> {
  await Deno.mkdir(dir, { recursive: true });
  const bytes = (await Deno.stat(file)).size;
  const remote = (path: string) => `${sshd.user}@${loopback}:${path}`;
  try {
    const received = `${dir}/received.bin`;
    const upload = await checkSize(
      await timedCommand("scp", [...sshd.clientArgs("-P"), file, remote(received)], {
        deadlineMs,
      }),
      received,
      bytes,
    );
    await Deno.remove(received).catch(() => {});
    await settle();
    const fetched = `${dir}/fetched.bin`;
    const download = await checkSize(
      await timedCommand("scp", [...sshd.clientArgs("-P"), remote(file), fetched], { deadlineMs }),
      fetched,
      bytes,
    );
    await Deno.remove(fetched).catch(() => {});
    await settle();
    return { upload, download };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Waits (at most 10 s) until something accepts TCP on 127.0.0.1:`port`. */
async function acceptsConnections(port: number, gone: () => boolean): Promise<boolean> {
  for (let attempt = 0; attempt < 100 && !gone(); attempt++) {
    try {
      const probe = await Deno.connect({ hostname: loopback, port });
      probe.close();
      return true;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return false;
}

async function commandOutput(
  command: string,
  args: string[],
  stream: "stdout" | "stderr" = "stdout",
): Promise<string> {
  const output = await new Deno.Command(command, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).output();
  return new TextDecoder().decode(output[stream]);
}

function freePort(): number {
  using listener = Deno.listen({ hostname: loopback, port: 0 });
  return listener.addr.port;
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

async function onPath(command: string): Promise<boolean> {
  const found = await timedCommand("sh", ["-c", `command -v ${command}`], { deadlineMs: 10_000 })
    .catch(() => null);
  return found?.problem === null;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
