/// <reference no-default-lib="true" />
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
/**
 * The page's chat state, between the client core and the view: one
 * ChatSession over the page's WebSocket (it keeps retrying, from the first
 * join on), the conversations and the online list of lib/client/, and what
 * the view shows besides (the status line, the banner, the nick and password
 * prompts) as @preact/signals.
 *
 * Owns: turning session events into conversation entries and page
 * sentences, the sidebar's items (unread and mention counts are the client
 * core's, seeded by the server: issue #15), the read marks sent for what is
 * on screen (through lib/client/read_sender.ts), where "new since you last
 * read" goes, the channels (joining, leaving, topics, the list, each one's
 * history), notification levels and when a message notifies (through the
 * `notify` hook), marking the conversation on screen read (Esc), what the
 * composer's text does (send, or a command of
 * page_commands.ts), the room password prompt and the keys derived from it
 * (in memory only), the remembered nick, the downgrade refusal's question,
 * and identity (issue #14, PROTOCOL.md section 8): the device key the
 * session signs with, joining with a code from another device instead of a
 * nick, asking for such a code ("Add a device"), and the person card
 * (`whois`). Files (issue #16) are page_files.ts's: this module gives them
 * the session and where a file goes (the conversation on screen). No DOM
 * beyond `location`, `performance` and the hooks: the view (view/*.tsx)
 * draws, focuses and asks.
 */
import { batch, signal } from "@preact/signals";
import {
  ChatSession,
  downgradeMessage,
  type LinkCode,
  type NickRefusalCode,
  type RoomKeyRequest,
  type SessionEvent,
  type SessionState,
  type WhoisAnswer,
} from "../../client/session.ts";
import {
  channelKey,
  type Conversation,
  Conversations,
  isChannel,
  type NoticeTone,
} from "../../client/conversations.ts";
import type { ChannelEntry, NotifyLevel } from "../../client/session.ts";
import { ReadSender } from "../../client/read_sender.ts";
import { parseMarkup, plainText } from "../../client/markup.ts";
import { channelName, generalChannel } from "../../client/conversation_names.ts";
import { leftText, linkedText, membersText, shortPrint } from "../../client/event_words.ts";
import { OnlineList, sameNick } from "../../client/online_list.ts";
import type { MessageKind, SecureParams } from "../../wire/protocol.ts";
import {
  channelNameProblem,
  formatLinkCode,
  nickProblem,
  normalizeLinkCode,
} from "../../wire/protocol.ts";
import { deriveRoomPsk } from "../../wire/room_key.ts";
import { fingerprint } from "../../wire/identity.ts";
import { type PageActions, runComposerLine } from "./page_commands.ts";
import {
  type DeviceKeyLoad,
  knownServerKey,
  loadDeviceKey,
  markRoomPassword,
  roomHadPassword,
  storedNick,
  storeNick,
  storeServerKey,
} from "./page_storage.ts";
import { serverKeyCheck } from "../../client/server_keys.ts";
import { pageAddress, webSocketDialer } from "./websocket_channel.ts";
import { type ConversationItem, conversationItems } from "./conversation_list.ts";
import { PageFiles } from "./page_files.ts";
import type { UploadTarget } from "../../client/files/transfer_types.ts";

/** Messages asked for after joining, and per page when scrolling up. */
export const historyPageSize = 50;
/** Sent as `hello.client`. */
const clientName = "lanchat-web/0.1";
/** What the prompt says when the room refused the password. */
export const wrongPasswordText = "Wrong room password. Try again.";
/** What follows "pick another nick" when the nick belongs to an account (`nick_owned`). */
const ownedAdvice = "or if it is yours, use a code from one of your devices";
/** The code prompt's answer when what was typed cannot be a code. */
export const notACodeText =
  "That is not a code: it is 8 letters and digits, like K7QM-3XPA. Check it and type it again.";

/** The status line's state (the style sheet colours `data-state`). */
export type LinkState = "connecting" | "open" | "online" | "waiting" | "stopped";

/** What the status line shows. */
export interface Status {
  state: LinkState;
  text: string;
  /** When the next attempt starts (ms since the epoch) while waiting; the view counts down. */
  retryAt: number | null;
  /** Why the last attempt failed, for a tooltip. */
  detail: string;
}

/** An open prompt: what it shows, and how to answer it. */
export interface Prompt {
  /** Why the previous answer was refused, or null. */
  problem: string | null;
  /** What the field starts with; the view keeps what is typed here while the prompt is hidden. */
  initial: string;
  /** An acceptable answer was given. */
  answered: boolean;
  answer(value: string): void;
}

/** "Add a device": asking for a code, the code (until it is used), or why there is none. */
export type LinkCodeState =
  | { state: "asking" }
  | { state: "shown"; code: string; expires: number }
  | { state: "used"; fingerprint: string }
  | { state: "refused"; problem: string };

/** The person card: whom it is about, and the server's answer or why there is none yet. */
export interface PersonCard {
  nick: string;
  answer: WhoisAnswer | null;
  problem: string | null;
}

/**
 * The nick prompt's question again, after a `nick_owned` refusal: the
 * server's words ("'ana' belongs to someone else on this server; pick
 * another nick"), with what to do when the nick is the person's own.
 */
export function ownedText(problem: string): string {
  const advised = problem.trim().replace(
    /;\s*pick another nick\.?$/i,
    `. Pick another nick, ${ownedAdvice}.`,
  );
  return advised !== problem.trim()
    ? advised
    : `${sentence(problem)} Pick another nick, ${ownedAdvice}.`;
}

/** A notification for the browser to show (view/notifications.ts). */
export interface PageNotification {
  title: string;
  body: string;
  /** The conversation's name (`#ops`, `@ana`): a newer one replaces the one shown. */
  tag: string;
  /** The person clicked it: the conversation opens. */
  onClick(): void;
}

/** The small windows over the chat besides the prompts (channel_dialogs.tsx draws them). */
export type PageDialog =
  /** "+" beside Channels, or the name of a channel to join: `problem` is the server's words. */
  | { kind: "join"; problem: string | null; busy: boolean }
  /** Setting the topic of channel `name`. */
  | { kind: "topic"; name: string; topic: string; problem: string | null; busy: boolean }
  /** "Browse channels" (`/channels`): every channel, null while asked for. */
  | { kind: "channels"; channels: ChannelEntry[] | null; problem: string | null };

/** What the page needs from its view. */
export interface PageHooks {
  /**
   * Puts the cursor in the composer: the person opened a conversation on
   * purpose, or (`onlyIfIdle`) the page just joined and nothing else has the focus.
   */
  focusComposer(onlyIfIdle?: boolean): void;
  /** Asks a yes/no question (the downgrade refusal). */
  confirm(text: string): boolean;
  /** Shows a notification, when the person allowed them (default: none). */
  notify?(notification: PageNotification): void;
}

/** `text` as a sentence: a capital first letter and a full stop. */
export function sentence(text: string): string {
  const trimmed = text.trim();
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?…]$/.test(capital) ? capital : `${capital}.`;
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A private message on its way: where it was written, for its refusal. */
interface SentPrivately {
  to: string;
}

/**
 * The chat of one page.
 *
 * @example
 * const page = new ChatPage({ focusComposer, confirm: (text) => confirm(text) });
 * render(<App page={page} />, root);
 * page.start();
 */
export class ChatPage implements PageActions {
  readonly conversations: Conversations;
  readonly online = new OnlineList();
  /** Grows with every change of the conversations or the online list: the view redraws on it. */
  readonly revision = signal(0);
  readonly roomName = signal("");
  /** My nick in the room, or null before the first `welcome`. */
  readonly nick = signal<string | null>(null);
  readonly status = signal<Status>({
    state: "connecting",
    text: "Not connected yet",
    retryAt: null,
    detail: "",
  });
  /** A sentence above the chat when the page stopped for good (the downgrade refusal). */
  readonly banner = signal<string | null>(null);
  readonly nickPrompt = signal<Prompt | null>(null);
  readonly passwordPrompt = signal<Prompt | null>(null);
  /** The room key is being derived (about a second). */
  readonly deriving = signal(false);
  /** "I have a code": a code from another device of the account, instead of a nick. */
  readonly codePrompt = signal<Prompt | null>(null);
  /** I joined without an account (a version-1 server, or one that took no key). */
  readonly guest = signal(false);
  /** "Add a device" is open. */
  readonly linkCode = signal<LinkCodeState | null>(null);
  /** The person card that is open. */
  readonly person = signal<PersonCard | null>(null);
  /** This browser's device key's fingerprint (`SHA256:` ...). */
  readonly deviceFingerprint: string;
  /** Grows each time the person marks the conversation on screen read (Esc): the view's cue. */
  readonly markedRead = signal(0);
  /** The channel dialog that is open (join, topic, browse). */
  readonly dialog = signal<PageDialog | null>(null);
  /** What the page knows of each channel I am in (topic, members), by `channelKey`. */
  readonly channels = new Map<string, ChannelEntry>();
  /** Files sent, fetched and shown (page_files.ts). */
  readonly files: PageFiles;

  readonly #hooks: PageHooks;
  #session: ChatSession | null = null;
  #state: SessionState | null = null;
  #everJoined = false;
  /** Added to the session's history epoch: a new session (after a downgrade) starts a new epoch. */
  #epochBase = 0;
  #firstMessageShown = false;
  #privateSays = new Map<string, SentPrivately>();
  /** The room password, in memory only, and the keys derived from it per server start. */
  #password: string | null = null;
  #roomKeys = new Map<string, Uint8Array>();
  /** `/users` asked for the list: print it when it comes. */
  #printUsers = false;
  /**
   * The nick asked for at once on a first visit (a new connection gets only a
   * few seconds to say hello): the session's first question takes its answer.
   */
  #earlyNick: { prompt: Prompt; answer: Promise<string | null> } | null = null;
  /** Answers the nick question the session waits on (null: not joining by nick after all). */
  #pendingNick: ((nick: string | null) => void) | null = null;
  /** The nick prompt hidden behind the code prompt, shown again by "Back". */
  #hiddenNickPrompt: Prompt | null = null;
  /** The code the last "I have a code" joined with, as people read it. */
  #lastCode = "";
  /** The device key, made on first use and kept in this browser (page_storage.ts). */
  readonly #deviceKey: DeviceKeyLoad;
  /** Sends the read marks of the session (one per conversation every 500 ms at most). */
  #reads: ReadSender | null = null;
  /**
   * Where "new since you last read" goes, per conversation id: the id it was
   * read up to when it was opened with unread messages.
   */
  readonly #newSince = new Map<number, number>();
  /** The page is in front of the person (not a hidden tab). */
  #visible = true;

  constructor(hooks: PageHooks) {
    this.#hooks = hooks;
    this.conversations = new Conversations({
      onChange: () => this.#redraw(),
      me: () => this.nick.value,
      onRead: (mark) => this.#reads?.mark(mark),
    });
    this.files = new PageFiles({
      session: () => this.#session,
      uploadTarget: () => this.#uploadTarget(),
      notice: (text) => this.notice(text, "error"),
    });
    this.#deviceKey = loadDeviceKey();
    this.deviceFingerprint = fingerprint(this.#deviceKey.key.publicKey);
    if (this.#deviceKey.problem !== null) {
      this.notice(this.#deviceKey.problem, "error", this.conversations.room);
    }
  }

  /** The session, once started. */
  get session(): ChatSession | null {
    return this.#session;
  }

  /**
   * Connects and keeps connecting until joined (a server that is down is
   * waited for). `nick`: join with it (default: the remembered one, or ask);
   * `linkCode`: join as the account of another device that gave this code
   * (PROTOCOL.md 8.5), whatever the nick.
   */
  start(options: { nick?: string; linkCode?: string } = {}): void {
    this.#epochBase = this.conversations.epoch + (this.#session === null ? 0 : 1);
    // Joining with a code, the server gives the account's nick: none is asked.
    const nick = options.nick ??
      (options.linkCode === undefined && nickProblem(storedNick()) === null
        ? storedNick()
        : undefined);
    const session: ChatSession = new ChatSession({
      address: pageAddress(location),
      dial: webSocketDialer(
        `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/ws`,
      ),
      ...(nick === undefined ? {} : { nick }),
      // A session the page left for another (joining with a code) is told there is no nick.
      chooseNick: (problem, refused, code) =>
        this.#session === session
          ? this.#askNick(problem, refused, code ?? null)
          : Promise.resolve(null),
      deviceKey: this.#deviceKey.key,
      ...(options.linkCode === undefined ? {} : { linkCode: options.linkCode }),
      client: clientName,
      historyLimit: historyPageSize,
      reconnectDelaysMs: [1000, 2000, 4000, 8000],
      keepRetrying: { maxDelayMs: 10_000, fromFirstJoin: true, jitter: 0.2 },
      reclaimNick: true,
      roomKey: (secure, request) => this.#roomKey(secure, request),
      checkServerKey: serverKeyCheck(
        location.host,
        { known: knownServerKey, remember: storeServerKey },
        "choose OK to forget the old key here and join (a reload asks again).",
      ),
      passwordExpected: () =>
        roomHadPassword()
          ? `This browser joined the room at ${location.host} with a room password before. ` +
            "If whoever runs it says they removed the password, choose OK to forget it here " +
            "and join without one."
          : null,
      onEvent: (event) => {
        if (this.#session === session) batch(() => this.#onEvent(session, event));
      },
      onState: (state) => {
        if (this.#session === session) batch(() => this.#onState(session, state));
      },
    });
    this.#session = session;
    this.#reads?.close();
    this.#reads = new ReadSender((mark) => session.markRead(mark.conversation, mark.id));
    // A first visit asks for the nick while connecting; a room password, when the greeting
    // asks for one, comes first and hides this prompt until it is accepted.
    if (nick === undefined && options.linkCode === undefined && this.#earlyNick === null) {
      let resolveNick: (nick: string | null) => void = () => {};
      const answer = new Promise<string | null>((resolve) => resolveNick = resolve);
      this.#pendingNick = resolveNick;
      const prompt = this.#nickPromptFor(null, storedNick(), resolveNick);
      this.#earlyNick = { prompt, answer };
      this.nickPrompt.value = prompt;
    }
    void session.start();
  }

  /** Puts the cursor in the composer (see {@link PageHooks.focusComposer}). */
  focusComposer(): void {
    this.#hooks.focusComposer();
  }

  /** Leaving the page: says `bye`. */
  leave(): void {
    this.#reads?.close();
    void this.#session?.quit();
  }

  /** Tries to connect now instead of at the end of the wait. */
  retryNow(): void {
    this.#session?.retryNow();
  }

  /** The page became visible (or hidden): unread counts, and a quicker reconnect. */
  setVisible(visible: boolean): void {
    this.#visible = visible;
    if (visible) this.#markNewSince(this.conversations.active);
    this.conversations.setVisible(visible);
    if (visible) this.retryNow();
  }

  /**
   * Where "new since you last read" goes in `conversation`: before its first
   * message from others after this id; null for none.
   */
  newSince(conversation: Conversation): number | null {
    return this.#newSince.get(conversation.id) ?? null;
  }

  /** About to be read with unread messages: the line goes after what was read before. */
  #markNewSince(conversation: Conversation, readId = conversation.readId): void {
    if (conversation.unread > 0) this.#newSince.set(conversation.id, readId);
  }

  /** The sidebar's conversations (see conversation_list.ts). */
  conversationItems(): ConversationItem[] {
    return conversationItems(this.conversations.all, {
      active: this.conversations.active,
      mentionsIn: (conversation) => conversation.mentions,
      isOnline: (nick) => this.online.has(nick),
    });
  }

  // ---- what the person does -------------------------------------------------------

  /**
   * The person marked the conversation on screen read (Esc in the composer):
   * a key pressed here means the page is in front of them, so its unread
   * count goes to 0, and the view drops its "new messages" marker.
   */
  markActiveRead(): void {
    const active = this.conversations.active;
    this.#visible = true;
    this.conversations.setVisible(true);
    this.conversations.markReadNow(active);
    this.#newSince.delete(active.id);
    this.markedRead.value++;
  }

  /** Runs the composer's text; true when it was used up (the box empties). */
  submit(text: string): boolean {
    return runComposerLine(text, this);
  }

  /**
   * Sends `text` to the conversation on screen (or privately to `to`);
   * false (and nothing sent) when not connected.
   */
  send(text: string, options: { to?: string; kind?: MessageKind } = {}): boolean {
    const session = this.#session;
    if (session === null || !session.online) {
      this.notice(
        "Not connected: your message stays in the box until the connection is back.",
        "error",
      );
      return false;
    }
    const active = this.conversations.active;
    const to = options.to ?? (active.kind === "private" ? active.title : undefined);
    if (to !== undefined) this.openPrivate(to);
    else if (!isChannel(active)) this.activate("room", true);
    const channel = to === undefined && isChannel(active) ? active.name : undefined;
    const kind = options.kind ?? "text";
    const where = to !== undefined ? { to } : channel === undefined ? {} : { channel };
    void session.say(text, { kind, ...where }).then((ref) => {
      if (to !== undefined) this.#privateSays.set(ref, { to });
    });
    return true;
  }

  /** Where a file goes: the conversation on screen (from search results: the room, shown). */
  #uploadTarget(): UploadTarget {
    const active = this.conversations.active;
    if (active.kind === "private") return { to: active.title };
    if (isChannel(active)) return { channel: active.name };
    this.activate("room");
    return { channel: this.conversations.room.name };
  }

  /** Opens (or shows) the private conversation with `nick` and puts the cursor in the composer. */
  openPrivate(nick: string): void {
    if (sameNick(nick, this.nick.value)) return;
    const conversation = this.conversations.openPrivate(nick);
    this.activate(conversation.key, true);
  }

  /** Shows a conversation; `focus`: the person chose it (the cursor goes to the composer). */
  activate(key: string, focus = false): void {
    const target = this.conversations.find(key);
    if (target !== undefined && target !== this.conversations.active) {
      this.#newSince.delete(target.id);
      if (this.#visible) this.#markNewSince(target);
    }
    this.conversations.activate(key);
    const active = this.conversations.active;
    if (!active.askedHistory && active.key !== "room") void this.#askHistory(active);
    if (focus) this.#hooks.focusComposer();
  }

  close(key: string): void {
    this.conversations.close(key);
    this.#hooks.focusComposer();
  }

  /** Asks for the next older page of `conversation`, when there is one and none is on its way. */
  async loadOlder(conversation: Conversation): Promise<void> {
    const session = this.#session;
    const request = this.conversations.olderRequest(conversation);
    if (session === null || !session.online || request === null) return;
    this.conversations.loading(conversation);
    const page = await session.history({ limit: historyPageSize, ...request });
    const again = this.conversations.addPage(conversation, page, this.#epoch(session), request);
    // A page of the room's history may hold only private messages: look further back.
    if (again) await this.loadOlder(conversation);
  }

  /** The last `count` messages of the conversation on screen, again (`/history`). */
  async reloadHistory(count: number): Promise<void> {
    const session = this.#session;
    const conversation = this.conversations.active;
    if (session === null || !session.online || conversation.kind === "search") return;
    this.conversations.loading(conversation);
    const page = await session.history({ limit: count, ...this.#historyFilter(conversation) });
    this.conversations.addPage(conversation, page, this.#epoch(session));
  }

  /** Searches the messages I may see; the results get a conversation of their own. */
  async search(query: string, channel?: string): Promise<void> {
    const session = this.#session;
    if (session === null || !session.online) {
      this.notice("Not connected: search again once the connection is back.", "error");
      return;
    }
    const items = await session.search(query, historyPageSize, channel);
    if (items === null) return; // Refused: the server_error event said why.
    const summary = items.length === 0
      ? `No message matches “${query}”.`
      : `${items.length} message${items.length === 1 ? "" : "s"} match “${query}”.`;
    const results = this.conversations.showResults(query, items, summary);
    this.activate(results.key);
  }

  rename(nick: string): void {
    this.#session?.rename(nick);
  }

  /** Empties the conversation on screen (`/clear`). */
  clearActive(): void {
    this.conversations.clear(this.conversations.active);
  }

  requestUsers(): void {
    this.#printUsers = true;
    this.#session?.requestUsers();
  }

  // ---- channels (issue #15) -----------------------------------------------------------

  /**
   * Joins channel `typed` (`ops` or `#ops`; made when it does not exist) and
   * shows it; resolves with why not (the server's words), or null.
   */
  async joinChannel(typed: string): Promise<string | null> {
    const name = channelName(typed);
    const problem = channelNameProblem(name);
    if (problem !== null) return sentence(problem);
    const known = this.conversations.byName(name);
    if (known !== undefined && isChannel(known)) {
      this.activate(known.key, true);
      return null;
    }
    const session = this.#session;
    if (session === null) return "Not connected yet.";
    try {
      const channel = await session.joinChannel(name);
      const conversation = this.conversations.openChannel(channel.name);
      this.channels.set(conversation.key, channel);
      this.activate(conversation.key, true);
      return null;
    } catch (error) {
      return sentence(reason(error));
    }
  }

  /** `/join` and the join dialog: joined, the dialog closes; refused, it says why. */
  async joinFromDialog(typed: string): Promise<void> {
    const open = this.dialog.value;
    if (open?.kind === "join") this.dialog.value = { ...open, busy: true };
    const problem = await this.joinChannel(typed);
    if (this.dialog.value?.kind !== "join") {
      if (problem !== null) this.notice(`Cannot join ${channelName(typed)}: ${problem}`, "error");
      return;
    }
    this.dialog.value = problem === null ? null : { kind: "join", problem, busy: false };
  }

  /**
   * Leaves channel `name` (default: the one on screen); in a private
   * conversation, closes it. `#general` cannot be left.
   */
  async showMembers(name: string | null): Promise<void> {
    const active = this.conversations.active;
    const target = name ??
      (active.kind === "private" || active.kind === "search"
        ? null
        : active.key === "room"
        ? generalChannel
        : active.name);
    if (target === null) {
      this.notice("A private conversation has no members list; /members #NAME.", "error");
      return;
    }
    try {
      const users = (await this.#session?.channelMembers(target)) ?? [];
      this.notice(membersText(target, users), "info");
    } catch (error) {
      this.notice(error instanceof Error ? error.message : String(error), "error");
    }
  }

  async leaveChannel(name: string | null = null): Promise<void> {
    const target = name === null ? this.conversations.active : this.conversations.byName(name);
    if (target === undefined || target.kind === "search") {
      this.notice(`You are not in ${name ?? "a channel"}.`, "error");
      return;
    }
    if (target.kind === "private") return this.close(target.key);
    if (target.key === "room") {
      this.notice(`${generalChannel} cannot be left; join another channel to talk there.`, "error");
      return;
    }
    try {
      await this.#session?.partChannel(target.name);
    } catch (error) {
      this.notice(`Cannot leave ${target.name}: ${sentence(reason(error))}`, "error");
    }
  }

  /** "Browse channels" (`/channels`): every channel with its topic and members. */
  async browseChannels(): Promise<void> {
    this.dialog.value = { kind: "channels", channels: null, problem: null };
    const session = this.#session;
    try {
      if (session === null) throw new Error("not connected yet");
      const channels = await session.listChannels();
      if (this.dialog.value?.kind === "channels") {
        this.dialog.value = { kind: "channels", channels, problem: null };
      }
    } catch (error) {
      if (this.dialog.value?.kind === "channels") {
        this.dialog.value = { kind: "channels", channels: [], problem: sentence(reason(error)) };
      }
    }
  }

  /** The topic of the channel on screen, as the page knows it ("" for none). */
  topicOf(conversation: Conversation): ChannelEntry | undefined {
    return this.channels.get(conversation.key);
  }

  /** `/topic` alone or a click on the topic: the topic dialog for the channel on screen. */
  editTopic(): void {
    const active = this.conversations.active;
    if (!isChannel(active)) {
      this.notice("A private conversation has no topic; /topic works in a channel.", "error");
      return;
    }
    const topic = this.topicOf(active)?.topic ?? "";
    this.dialog.value = { kind: "topic", name: active.name, topic, problem: null, busy: false };
  }

  /** Sets the topic of channel `name` (default: the one on screen); resolves with why not, or null. */
  async setTopic(topic: string, name?: string): Promise<string | null> {
    const channel = name ?? this.conversations.active.name;
    const session = this.#session;
    if (!channel.startsWith("#")) return "A private conversation has no topic.";
    try {
      if (session === null) throw new Error("not connected yet");
      await session.setTopic(channel, topic.trim());
      return null;
    } catch (error) {
      return sentence(reason(error));
    }
  }

  /** The topic dialog's answer. */
  async topicFromDialog(topic: string): Promise<void> {
    const open = this.dialog.value;
    if (open?.kind !== "topic") return;
    this.dialog.value = { ...open, busy: true };
    const problem = await this.setTopic(topic, open.name);
    if (this.dialog.value?.kind !== "topic") return;
    this.dialog.value = problem === null ? null : { ...open, topic, problem, busy: false };
  }

  closeDialog(): void {
    this.dialog.value = null;
  }

  /** How I want to be told of `conversation` (kept on the server; the `notify` event applies it). */
  async setNotifyLevel(conversation: Conversation, level: NotifyLevel): Promise<void> {
    const session = this.#session;
    try {
      if (session === null) throw new Error("not connected yet");
      await session.setNotify(conversation.name, level);
    } catch (error) {
      this.notice(`Notifications unchanged: ${sentence(reason(error))}`, "error", conversation);
    }
  }

  /** `/notify` alone: what the conversation on screen is set to. */
  showNotifyLevel(): void {
    const active = this.conversations.active;
    const words = { all: "every message", mentions: "mentions only", muted: "nothing (muted)" };
    this.notice(`Notifications here: ${words[active.notify]}.`, "info");
  }

  /** `/next`: the next conversation with unread messages (mentions first). */
  next(): void {
    const next = this.conversations.nextUnread();
    if (next === null) this.notice("Nothing unread.", "info");
    else this.activate(next.key, true);
  }

  // ---- identity ---------------------------------------------------------------------

  /** "I have a code" in the nick prompt: the code prompt replaces it ("Back" returns). */
  offerCode(): void {
    const nickPrompt = this.nickPrompt.value;
    if (nickPrompt === null) return;
    this.#hiddenNickPrompt = nickPrompt;
    this.nickPrompt.value = null;
    this.codePrompt.value = this.#codePromptFor(null, "");
    this.#renderStatus();
  }

  /** "Back" in the code prompt: the nick prompt again, as it was left. */
  backToNick(): void {
    const nickPrompt = this.#hiddenNickPrompt;
    if (this.codePrompt.value === null || nickPrompt === null) return;
    this.#hiddenNickPrompt = null;
    this.codePrompt.value = null;
    this.nickPrompt.value = nickPrompt;
    this.#renderStatus();
  }

  /**
   * "Add a device" (`/link`): asks the server for a one-time code that adds
   * another device to my account (PROTOCOL.md 8.5); the view shows it.
   */
  async addDevice(): Promise<LinkCode> {
    const asking: LinkCodeState = { state: "asking" };
    this.linkCode.value = asking;
    try {
      const session = this.#session;
      const answer = session === null
        ? await Promise.reject(new Error("not connected yet; try again in a moment"))
        : await session.requestLinkCode();
      if (this.linkCode.value === asking) this.linkCode.value = { state: "shown", ...answer };
      return answer;
    } catch (error) {
      const problem = sentence(error instanceof Error ? error.message : String(error));
      if (this.linkCode.value === asking) this.linkCode.value = { state: "refused", problem };
      throw error;
    }
  }

  /** The "Add a device" button: the dialog says why when there is no code. */
  openAddDevice(): void {
    this.addDevice().catch(() => {});
  }

  /**
   * The command line that joins this server from a terminal with `code`
   * (the page knows the server's host name, not its chat port).
   */
  linkCommand(code: string): string {
    return `${this.joinCommand()} --link ${code}`;
  }

  /**
   * The command line that joins this server from a terminal (the page knows
   * the server's host name, not its chat port): "lanchat join 192.168.1.20".
   */
  joinCommand(): string {
    const port = document.querySelector<HTMLMetaElement>('meta[name="lanchat-chat-port"]')?.content;
    const host = location.hostname.includes(":") ? `[${location.hostname}]` : location.hostname;
    const address = port === undefined || port === "" || port === "9000" ? host : `${host}:${port}`;
    return `lanchat join ${address}`;
  }

  /** Closes "Add a device" (an unused code stays good until it expires). */
  closeLinkCode(): void {
    this.linkCode.value = null;
  }

  /** Opens the card of `nick`: guest or account, and the account's devices (`whois`). */
  async showPerson(nick: string): Promise<void> {
    const card: PersonCard = { nick, answer: null, problem: null };
    this.person.value = card;
    try {
      const answer = await this.whois(nick);
      if (this.person.value === card) this.person.value = { ...card, answer };
    } catch (error) {
      const problem = sentence(error instanceof Error ? error.message : String(error));
      if (this.person.value === card) this.person.value = { ...card, problem };
    }
  }

  closePerson(): void {
    this.person.value = null;
  }

  /** Who holds `nick` (`/whois`, the card); rejects with the server's words or why not asked. */
  whois(nick: string): Promise<WhoisAnswer> {
    const session = this.#session;
    if (session === null) return Promise.reject(new Error("not connected yet"));
    return session.whois(nick);
  }

  /** Leaves the room for good (`/quit`). */
  quit(): void {
    this.banner.value = "You left the room. Reload the page to join again.";
    this.leave();
  }

  /** Adds a line from the page to a conversation (default: the one on screen). */
  notice(text: string, tone: NoticeTone = "info", conversation?: Conversation): void {
    this.conversations.addNotice(text, tone, conversation);
  }

  // ---- prompts ----------------------------------------------------------------------

  /** The nick prompt: asked by the session after the greeting (and after any password). */
  #askNick(
    problem: string | null,
    refused: string | null,
    code: NickRefusalCode | null,
  ): Promise<string | null> {
    const early = this.#earlyNick;
    if (early !== null) {
      this.#earlyNick = null;
      if (problem === null && refused === null) {
        // The question asked at load: shown again if the password prompt hid it, else as it is.
        // (Not over the code prompt: "Back" shows it.)
        if (
          this.nickPrompt.value === null && this.codePrompt.value === null &&
          !early.prompt.answered
        ) {
          this.nickPrompt.value = early.prompt;
        }
        this.#renderStatus();
        return early.answer;
      }
      if (this.nickPrompt.value === early.prompt) this.nickPrompt.value = null;
    }
    return new Promise((resolve) => {
      this.#pendingNick = resolve;
      const prompt = this.#nickPromptFor(
        problem === null ? null : code === "nick_owned" ? ownedText(problem) : sentence(problem),
        refused ?? storedNick(),
        resolve,
      );
      // Behind the code prompt, the new question waits for "Back".
      if (this.codePrompt.value !== null) this.#hiddenNickPrompt = prompt;
      else this.nickPrompt.value = prompt;
      this.#renderStatus();
    });
  }

  /** A nick prompt that checks the nick by the wire's rules before `resolve` takes it. */
  #nickPromptFor(
    problem: string | null,
    initial: string,
    resolve: (nick: string) => void,
  ): Prompt {
    const prompt: Prompt = {
      problem,
      initial,
      answered: false,
      answer: (value) => {
        const nick = value.trim();
        const invalid = nickProblem(nick);
        if (invalid !== null) {
          prompt.initial = value;
          this.nickPrompt.value = { ...prompt, problem: sentence(invalid) };
          return;
        }
        prompt.answered = true;
        if (this.nickPrompt.value !== null) this.nickPrompt.value = null;
        if (this.#pendingNick === resolve) this.#pendingNick = null;
        resolve(nick);
        this.#renderStatus();
      },
    };
    return prompt;
  }

  /**
   * The code prompt ("I have a code"): a code typed as the other device
   * shows it (case, spaces and dashes do not matter) joins with it.
   */
  #codePromptFor(problem: string | null, initial: string): Prompt {
    const prompt: Prompt = {
      problem,
      initial,
      answered: false,
      answer: (value) => {
        const code = normalizeLinkCode(value);
        if (code === null) {
          prompt.initial = value;
          this.codePrompt.value = { ...prompt, problem: notACodeText };
          return;
        }
        prompt.answered = true;
        prompt.initial = formatLinkCode(code);
        this.codePrompt.value = null;
        this.#joinWithCode(code);
      },
    };
    return prompt;
  }

  /**
   * Leaves the session that waits for a nick (if any) for a new one that
   * joins with `code`; the server ignores the nick it sends then.
   */
  #joinWithCode(code: string): void {
    const left = this.#session;
    const cancel = this.#pendingNick;
    this.#pendingNick = null;
    this.#earlyNick = null;
    this.#hiddenNickPrompt = null;
    this.banner.value = null;
    this.#lastCode = formatLinkCode(code);
    this.start({ linkCode: code });
    cancel?.(null);
    void left?.quit();
  }

  /**
   * The server refused the code (wrong, used, expired, or too many tries):
   * its words in the code prompt, to try another; "Back" offers a nick.
   */
  #codeRefused(message: string, typedCode: string): void {
    this.#hiddenNickPrompt = this.#nickPromptFor(null, storedNick(), (nick) => {
      this.start({ nick });
    });
    this.codePrompt.value = this.#codePromptFor(sentence(message), typedCode);
    this.#renderStatus();
  }

  /**
   * The room key for `secure`: derived from the password the person typed
   * (asked once; kept in this page's memory for reconnects, never stored or
   * sent), and asked again when the room refused it.
   */
  async #roomKey(secure: SecureParams, request: RoomKeyRequest): Promise<Uint8Array> {
    if (request.refused) {
      this.#password = null;
      this.#roomKeys.clear();
    }
    const id = [secure.salt, secure.N, secure.r, secure.p].join(" ");
    const known = this.#roomKeys.get(id);
    if (known !== undefined) return known;
    this.#password ??= await this.#askPassword(request.refused ? wrongPasswordText : null);
    this.deriving.value = true;
    this.#renderStatus();
    try {
      const psk = await deriveRoomPsk(this.#password, secure);
      this.#roomKeys.set(id, psk);
      return psk;
    } finally {
      this.deriving.value = false;
      this.#renderStatus();
    }
  }

  #askPassword(problem: string | null): Promise<string> {
    // Nothing else can happen without the password: a nick prompt waits behind it.
    if (this.nickPrompt.value !== null) this.nickPrompt.value = null;
    return new Promise((resolve) => {
      const prompt: Prompt = {
        problem,
        initial: "",
        answered: false,
        answer: (password) => {
          if (password === "") {
            this.passwordPrompt.value = { ...prompt, problem: "Enter the room's password." };
            return;
          }
          prompt.answered = true;
          this.passwordPrompt.value = null;
          resolve(password);
        },
      };
      this.passwordPrompt.value = prompt;
      this.#renderStatus();
    });
  }

  // ---- the session's side -------------------------------------------------------------

  #epoch(session: ChatSession): number {
    return this.#epochBase + session.historyEpoch;
  }

  #onEvent(session: ChatSession, event: SessionEvent): void {
    const conversations = this.conversations;
    switch (event.type) {
      case "connected":
        this.roomName.value = event.serverName;
        // The page calls #general by the room's name (the terminal says #general).
        conversations.setRoomName(event.serverName);
        return;
      case "welcome":
        this.nick.value = event.nick;
        this.guest.value = event.guest;
        if (session.encrypted) markRoomPassword(true);
        if (!event.reconnect) {
          storeNick(event.nick);
          this.#hooks.focusComposer(true);
          if (event.motd !== undefined && event.motd !== "") {
            this.notice(event.motd, "info", conversations.room);
          }
        }
        this.#redraw();
        return;
      case "users":
        this.online.replace(event.users);
        if (this.#printUsers) {
          this.#printUsers = false;
          const nicks = this.online.sorted().map((user) => user.nick);
          this.notice(`${nicks.length} online: ${nicks.join(", ")}`, "info");
        }
        this.#redraw();
        return;
      case "message": {
        const placed = conversations.place(event, event.source, this.#epoch(session));
        if (placed !== null && !this.#firstMessageShown) {
          this.#firstMessageShown = true;
          performance.mark("lanchat:first-message");
        }
        const where = placed?.conversation;
        if (
          where !== undefined && placed?.alert && (!this.#visible || where !== conversations.active)
        ) {
          this.#notify(where, event.message.from, event.text);
        }
        return;
      }
      case "conversations": {
        // The line goes after what the server says was read, before the page reads it.
        const active = conversations.active;
        const seen = event.items.find((item) => conversations.byName(item.conversation) === active);
        if (seen !== undefined && seen.unread > 0 && this.#visible) {
          this.#newSince.set(active.id, seen.read);
        }
        conversations.applyConversations(event.items);
        void this.#loadChannelList();
        return;
      }
      case "channel": {
        const channel = event.channel;
        if (channel.joined) {
          const conversation = conversations.openChannel(channel.name);
          this.channels.set(conversation.key, channel);
        } else {
          this.channels.delete(channelKey(channel.name));
          conversations.removeChannel(channel.name);
        }
        this.#redraw();
        return;
      }
      case "topic": {
        const key = channelKey(event.channel);
        const known = this.channels.get(key);
        this.channels.set(key, {
          name: event.channel,
          members: 0,
          joined: true,
          ...known,
          topic: event.topic,
        });
        const conversation = conversations.byName(event.channel);
        if (conversation !== undefined) {
          this.notice(
            event.topic === ""
              ? `${event.by} cleared the topic`
              : `${event.by} set the topic: ${event.topic}`,
            "quiet",
            conversation,
          );
        }
        this.#redraw();
        return;
      }
      case "read":
        conversations.applyRead(event.conversation, event.id);
        return;
      case "notify":
        conversations.applyNotify(event.conversation, event.level);
        return;
      case "history_end":
        conversations.setMore(conversations.room, event.more);
        return;
      case "joined": {
        this.online.joined(event.nick, event.ts, event.guest);
        this.notice(`${event.nick} joined`, "quiet", conversations.room);
        const conversation = conversations.privateWith(event.nick);
        if (conversation !== undefined) {
          this.notice(`${event.nick} is back online`, "quiet", conversation);
        }
        this.#redraw();
        return;
      }
      case "left": {
        this.online.left(event.nick);
        if (sameNick(this.person.value?.nick ?? null, event.nick)) this.closePerson();
        const text = leftText(event.nick, event.reason);
        this.notice(text, "quiet", conversations.room);
        const conversation = conversations.privateWith(event.nick);
        if (conversation !== undefined) this.notice(text, "quiet", conversation);
        this.#redraw();
        return;
      }
      case "renamed": {
        this.online.renamed(event.from, event.to, event.ts);
        if (sameNick(this.person.value?.nick ?? null, event.from)) this.closePerson();
        if (event.own) {
          this.nick.value = event.to;
          storeNick(event.to);
        }
        const text = `${event.from} is now ${event.to}`;
        const conversation = conversations.renamePeer(event.from, event.to);
        if (conversation !== null) this.notice(text, "quiet", conversation);
        this.notice(text, "quiet", conversations.room);
        this.#redraw();
        return;
      }
      case "server_error":
        this.#onServerError(event);
        return;
      case "delivered":
        this.#privateSays.delete(event.ref);
        return;
      case "refused": {
        const sent = this.#privateSays.get(event.ref);
        this.#privateSays.delete(event.ref);
        // A private message to someone not online: a conversation opened only for it goes away,
        // so the composer does not go on writing to nobody.
        if (sent !== undefined && event.code === "no_such_user") {
          conversations.closeIfEmpty(sent.to);
        }
        const target = sent === undefined ? undefined : conversations.privateWith(sent.to);
        this.notice(
          `Not sent: ${event.message}`,
          "error",
          target ?? conversations.active,
        );
        return;
      }
      case "notice":
        this.notice(sentence(event.text), "info", conversations.room);
        return;
      case "resumed":
        this.notice("Reconnected.", "quiet", conversations.room);
        return;
      case "linked": {
        const here = event.own;
        this.notice(
          here
            ? `This device was added to your account: ${shortPrint(event.fingerprint)}`
            : `${linkedText(event.fingerprint, event.ts)}. ` +
              "If that was not you, tell whoever runs the server.",
          "info",
          conversations.room,
        );
        if (!here && this.linkCode.value?.state === "shown") {
          this.linkCode.value = { state: "used", fingerprint: event.fingerprint };
        }
        const card = this.person.value;
        if (card !== null && sameNick(card.nick, this.nick.value)) void this.showPerson(card.nick);
        return;
      }
      case "lost":
      case "reconnecting":
        return; // The status line says it (onState).
      case "reconnect_failed":
        this.status.value = { ...this.status.value, detail: event.reason };
        return;
    }
  }

  #onServerError(event: Extract<SessionEvent, { type: "server_error" }>): void {
    const room = this.conversations.room;
    if (event.request === "search") {
      this.notice(`Search: ${event.message}`, "error");
    } else if (event.code === "shutting_down") {
      this.notice(
        "The server is shutting down. This page reconnects when it is back.",
        "info",
        room,
      );
    } else if (event.code === "server_full") {
      this.notice(`${sentence(event.message)} This page tries again shortly.`, "error", room);
    } else {
      this.notice(event.message, "error");
    }
  }

  #onState(session: ChatSession, state: SessionState): void {
    this.#state = state;
    if (state.state === "online") {
      this.#everJoined = true;
      // Private conversations opened while offline (or before a restart) fetch their history now.
      for (const conversation of this.conversations.all) {
        if (conversation.kind === "private" && !conversation.askedHistory) {
          void this.#askHistory(conversation);
        }
      }
    }
    if (state.state === "ended" && state.end.kind === "gave_up" && state.end.link === true) {
      this.#codeRefused(state.end.message, this.#lastCode);
    } else if (state.state === "ended" && state.end.kind === "gave_up") {
      const end = state.end;
      this.banner.value = end.downgrade === true ? `${downgradeMessage}.` : end.message;
      if (end.downgrade === true) setTimeout(() => this.#offerToForget(session, end.message), 0);
      if (end.serverKey === true) setTimeout(() => this.#offerToForgetKey(session, end.message), 0);
    }
    this.#renderStatus();
  }

  /**
   * The greeting did not ask for the password this browser joined with: asks
   * whether to forget it (the room's operator may really have removed it);
   * otherwise the page stays disconnected.
   */
  #offerToForget(session: ChatSession, message: string): void {
    if (this.#session !== session) return;
    const advice = message.startsWith(downgradeMessage)
      ? message.slice(downgradeMessage.length).replace(/^\.\s*/, "")
      : message;
    if (!this.#hooks.confirm(`${downgradeMessage}.\n\n${advice}`)) return;
    markRoomPassword(false);
    this.banner.value = null;
    this.start();
  }

  /**
   * The server did not prove the key this browser knows for it: asks whether
   * to forget that key (its operator may have set the room up again);
   * otherwise the page stays disconnected.
   */
  #offerToForgetKey(session: ChatSession, message: string): void {
    if (this.#session !== session) return;
    if (!this.#hooks.confirm(message)) return;
    storeServerKey(null);
    this.banner.value = null;
    this.start();
  }

  /** The first page of a private conversation or a channel other than the room. */
  async #askHistory(conversation: Conversation): Promise<void> {
    const session = this.#session;
    if (session === null || !session.online || conversation.kind === "search") return;
    conversation.askedHistory = true;
    this.conversations.loading(conversation);
    const filter = this.#historyFilter(conversation);
    const page = await session.history({ limit: historyPageSize, ...filter });
    this.conversations.addPage(conversation, page, this.#epoch(session));
  }

  /** `history`'s filter for `conversation`: `with` the peer, or its `channel` (not the room's). */
  #historyFilter(conversation: Conversation): { with?: string; channel?: string } {
    if (conversation.kind === "private") return { with: conversation.title };
    return conversation.key === "room" ? {} : { channel: conversation.name };
  }

  /** Tells the person of a message by a browser notification (the view's hook). */
  #notify(conversation: Conversation, from: string, text: string): void {
    const title = conversation.kind === "private" ? from : `${from} in ${conversation.name}`;
    this.#hooks.notify?.({
      title,
      body: plainText(parseMarkup(text)),
      tag: conversation.name,
      onClick: () => this.activate(conversation.key, true),
    });
  }

  /** The topics and member counts of the channels I am in (after each join). */
  async #loadChannelList(): Promise<ChannelEntry[] | null> {
    const session = this.#session;
    if (session === null) return null;
    const channels = await session.listChannels().catch(() => null);
    if (channels === null) return null;
    for (const channel of channels) {
      const key = channelKey(channel.name);
      if (channel.joined) this.channels.set(key, channel);
    }
    this.#redraw();
    return channels;
  }

  /** The status line from the session's state and the open prompts. */
  #renderStatus(): void {
    const state = this.#state;
    const detail = this.status.value.detail;
    const show = (state: LinkState, text: string, retryAt: number | null = null) => {
      this.status.value = { state, text, retryAt, detail: state === "waiting" ? detail : "" };
    };
    // Nothing else can happen before the password: the prompt hides any offline state.
    if (this.passwordPrompt.value !== null) return show("open", "Waiting for the room password");
    if (this.deriving.value) return show("open", "Checking the password…");
    switch (state?.state) {
      case undefined:
        return show("connecting", "Not connected yet");
      case "connecting":
        return show("connecting", this.#everJoined ? "Reconnecting…" : "Connecting…");
      case "joining":
        return show("open", "Joining…");
      case "online":
        return show("online", "Online");
      case "waiting":
        this.status.value = {
          state: "waiting",
          text: "Offline · retrying",
          retryAt: Date.now() + state.delayMs,
          detail: state.reason,
        };
        return;
      case "ended":
        return show("stopped", "Not connected");
    }
  }

  #redraw(): void {
    this.revision.value++;
  }
}
