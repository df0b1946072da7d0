/** Tests of lib/client/commands.ts: splitting typed lines and the command registry. */
import { assertEquals } from "./_assert.ts";
import {
  type CommandContext,
  commands,
  parseLine,
  runLine,
  splitArgs,
} from "../lib/client/commands.ts";
import { membersText } from "../lib/client/event_words.ts";

interface Recorded {
  calls: string[];
  context: CommandContext;
}

function recorder(): Recorded {
  const calls: string[] = [];
  return {
    calls,
    context: {
      say: (text, options) =>
        calls.push(`say ${JSON.stringify(text)} ${JSON.stringify(options ?? {})}`),
      rename: (nick) => calls.push(`rename ${nick}`),
      requestUsers: () => calls.push("users"),
      quit: () => calls.push("quit"),
      print: (text) => calls.push(`print ${text}`),
    },
  };
}

function run(line: string): string[] {
  const { calls, context } = recorder();
  runLine(line, context);
  return calls;
}

Deno.test("parseLine tells chat text, commands, // escapes and blank lines apart", () => {
  assertEquals(parseLine("hello /there"), { kind: "say", text: "hello /there" });
  assertEquals(parseLine("  indented"), { kind: "say", text: "  indented" });
  assertEquals(parseLine("//etc/hosts"), { kind: "say", text: "/etc/hosts" });
  assertEquals(parseLine("/msg bob hi  there"), {
    kind: "command",
    name: "msg",
    argsText: "bob hi  there",
  });
  assertEquals(parseLine("/quit"), { kind: "command", name: "quit", argsText: "" });
  assertEquals(parseLine("   "), { kind: "empty" });
});

Deno.test("splitArgs keeps the spacing of the rest of the line", () => {
  const args = splitArgs("bob  hi   there ");
  assertEquals(args.words, ["bob", "hi", "there"]);
  assertEquals(args.rest(1), "hi   there");
  assertEquals(args.rest(0), "bob  hi   there");
  assertEquals(args.rest(5), "");
});

Deno.test("runLine sends text, private messages and actions", () => {
  assertEquals(run("hello"), ['say "hello" {}']);
  assertEquals(run("//me is literal"), ['say "/me is literal" {}']);
  assertEquals(run("/msg bob see  you"), ['say "see  you" {"to":"bob"}']);
  assertEquals(run("/ME waves"), ['say "waves" {"kind":"action"}']);
  assertEquals(run("/nick rob"), ["rename rob"]);
  assertEquals(run("/users"), ["users"]);
  assertEquals(run("/quit"), ["quit"]);
  assertEquals(run(""), []);
});

Deno.test("runLine answers a bad command with its usage and does nothing else", () => {
  assertEquals(run("/msg bob"), ["print ! usage: /msg NICK text"]);
  assertEquals(run("/me"), ["print ! usage: /me text"]);
  assertEquals(run("/nick"), ["print ! usage: /nick NEW"]);
  assertEquals(run("/nick two words"), ["print ! a nick has no spaces; usage: /nick NEW"]);
  assertEquals(run("/nick bad!"), [
    "print ! a nick may hold only letters, digits, _, - and .; usage: /nick NEW",
  ]);
  assertEquals(run("/frobnicate"), [
    "print ! unknown command /frobnicate; type /help for the list (or //text to send a line starting with /)",
  ]);
});

Deno.test("/help lists every command of the registry, and explains one", () => {
  const lines = run("/help");
  assertEquals(lines.length, commands.length + 1);
  for (const command of commands) {
    assertEquals(
      lines.some((line) => line.includes(command.usage) && line.includes(command.help)),
      true,
    );
  }
  assertEquals(run("/help /msg"), ["print /msg NICK text  send a private message to NICK"]);
  assertEquals(run("/help nope"), ["print ! there is no command /nope; usage: /help [COMMAND]"]);
});

Deno.test("the registry has the required commands, each with usage and help", () => {
  const names = commands.map((command) => command.name);
  for (const name of ["msg", "me", "nick", "users", "quit", "help"]) {
    assertEquals(names.includes(name), true, name);
  }
  assertEquals(new Set(names).size, names.length);
});

Deno.test("channel commands: /join checks the name (ops or #ops), /part, /channels, /topic, /notify levels, /next", () => {
  const calls: string[] = [];
  const base = recorder().context;
  const context: CommandContext = {
    ...base,
    print: (text) => calls.push(`print ${text}`),
    joinChannel: (name) => calls.push(`join ${name}`),
    part: (name) => calls.push(`part ${name ?? "(here)"}`),
    listChannels: () => calls.push("channels"),
    topic: (text) => calls.push(`topic ${text ?? "(show)"}`),
    notify: (level) => calls.push(`notify ${level ?? "(show)"}`),
    next: () => calls.push("next"),
  };
  const lines = [
    "/join ops",
    "/join #Ops",
    "/join",
    "/join two words",
    "/join #bad!",
    "/part",
    "/part #ops",
    "/channels",
    "/topic",
    "/topic deploys  at 5",
    "/notify",
    "/notify MENTIONS",
    "/notify loud",
    "/next",
  ];
  for (const line of lines) runLine(line, context);
  assertEquals(calls, [
    "join #ops",
    "join #Ops",
    "print ! usage: /join #CHANNEL",
    "print ! a channel name has no spaces; usage: /join #CHANNEL",
    "print ! a channel name may hold only letters, digits, - and _; usage: /join #CHANNEL",
    "part (here)",
    "part #ops",
    "channels",
    "topic (show)",
    "topic deploys  at 5",
    "notify (show)",
    "notify mentions",
    "print ! the level is one of all, mentions, muted; usage: /notify [all|mentions|muted]",
    "next",
  ]);
  // A client without them says where they work.
  assertEquals(run("/join #ops"), [
    "print ! /join works only in the interactive client; usage: /join #CHANNEL",
  ]);
  assertEquals(run("/next"), [
    "print ! /next works only in the full-screen client; usage: /next",
  ]);
});

Deno.test("/members asks for a channel's members (this one, or one named with or without #)", () => {
  const calls: string[] = [];
  const { context } = recorder();
  context.members = (name) => calls.push(`members ${name}`);
  context.print = (text) => calls.push(`print ${text}`);
  runLine("/members", context);
  runLine("/members ops", context);
  runLine("/members #dev", context);
  runLine("/members a b", context);
  runLine("/members #a b", context);
  assertEquals(calls.slice(0, 3), ["members null", "members #ops", "members #dev"]);
  assertEquals(calls.length, 5);
  assertEquals(run("/members"), [
    "print ! /members works only in the interactive client; usage: /members [#NAME]",
  ]);
});

Deno.test("membersText lists online people first, then the others", () => {
  assertEquals(
    membersText("#ops", [
      { nick: "cy", online: false },
      { nick: "bob", online: true },
      { nick: "ana", online: true },
    ]),
    "3 in #ops: ana (online), bob (online), cy",
  );
  assertEquals(membersText("#empty", []), "0 in #empty");
});

Deno.test("/search #CHANNEL TEXT searches one channel; a # that is not a channel name is text", () => {
  const calls: string[] = [];
  const { context } = recorder();
  context.search = (text, channel) => calls.push(`search ${JSON.stringify(text)} ${channel}`);
  runLine("/search #ops deploy done", context);
  runLine("/search deploy", context);
  runLine("/search #ops", context);
  runLine("/search #not_a-channel! x", context);
  assertEquals(calls, [
    'search "deploy done" #ops',
    'search "deploy" undefined',
    'search "#ops" undefined',
    'search "#not_a-channel! x" undefined',
  ]);
});
