/**
 * Asking a person for a nick at the terminal (@inquirer/prompts `input`).
 *
 * Owns: the nick and room password prompts, the nick's local validation (the same rules as the server,
 * from lib/wire/protocol.ts) and showing why the previous nick was refused.
 * Must not import the session or sockets.
 */
import { input, password } from "@inquirer/prompts";
import { nickProblem } from "../../wire/protocol.ts";
import { inert } from "./format.ts";

function suggestedNick(): string | undefined {
  try {
    const user = Deno.env.get("USER") ?? Deno.env.get("USERNAME");
    return user !== undefined && nickProblem(user) === null ? user : undefined;
  } catch {
    return undefined; // No --allow-env: no suggestion.
  }
}

/**
 * Asks for a nick. `problem` is the server's reason the previous nick was not
 * accepted (it names that nick), or null for the first ask; `advice` is
 * shown after it (for a nick that belongs to someone else: how to link this
 * device if it is the person's own). Resolves null when the person presses
 * Ctrl+C.
 */
export async function askNick(
  problem: string | null,
  advice: string | null = null,
): Promise<string | null> {
  if (problem !== null) console.log(`! ${inert(problem)}`);
  if (advice !== null) console.log(`  ${inert(advice)}`);
  const suggestion = problem === null ? suggestedNick() : undefined;
  try {
    const nick = await input({
      message: problem === null ? "Your nick:" : "Choose another nick:",
      ...(suggestion === undefined ? {} : { default: suggestion }),
      validate: (value: string) => nickProblem(value.trim()) ?? true,
    });
    return nick.trim();
  } catch (error) {
    if (error instanceof Error && error.name === "ExitPromptError") return null;
    throw error;
  }
}

/**
 * Asks for the room password without echoing it. Resolves null on Ctrl+C.
 * Runs before the terminal switches to raw mode.
 */
export async function askPassword(): Promise<string | null> {
  try {
    const answer = await password({
      message: "Room password:",
      validate: (value: string) => value.length > 0 || "the room needs its password",
    });
    return answer;
  } catch (error) {
    if (error instanceof Error && error.name === "ExitPromptError") return null;
    throw error;
  }
}
