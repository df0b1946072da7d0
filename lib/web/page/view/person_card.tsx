/// <reference no-default-lib="true" />
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
/**
 * The person card, under a name in the online list: guest or "Account since
 * DATE", and the account's devices by short fingerprint, when each was added
 * and whether it is online or when it was last seen (`whois`, PROTOCOL.md
 * 8.8). Showing, not blocking: it proves nothing by itself, but two people
 * can compare fingerprints.
 *
 * Owns: the card's markup and its buttons (a private conversation, or "Add a
 * device" on my own card). The words are whois_words.ts's; every text from
 * the network is a text node with its bidi controls made visible. Imports
 * preact, the page's types and lib/wire/inert_text.ts.
 */
import type { ChatPage, PersonCard } from "../chat_page.ts";
import { visibleBidi } from "../../../wire/inert_text.ts";
import {
  accountText,
  deviceAddedText,
  deviceSeenText,
  shortFingerprintOf,
} from "../whois_words.ts";

/** The card's element id (one card is open at a time). */
export const personCardId = "person-card";

export function PersonCardView(
  { page, card, mine }: { page: ChatPage; card: PersonCard; mine: boolean },
) {
  const { answer, problem } = card;
  const nick = visibleBidi(answer?.nick ?? card.nick);
  return (
    <section id={personCardId} class="person-card" aria-label={`About ${nick}`}>
      <div class="card-head">
        <strong class="card-nick">{nick}</strong>
        <button
          type="button"
          class="card-close"
          aria-label="Close the card"
          onClick={() => page.closePerson()}
        >
          ×
        </button>
      </div>
      {answer === null && problem === null ? <p class="card-line muted">Looking up…</p> : null}
      {problem === null ? null : <p class="card-line card-error">{problem}</p>}
      {answer === null ? null : (
        <>
          <p class={`card-line account${answer.guest ? " guest" : ""}`}>{accountText(answer)}</p>
          {answer.devices.length === 0 ? null : (
            <ul class="devices" aria-label="Devices">
              {answer.devices.map((device) => (
                <li key={device.fingerprint} class="device" data-fingerprint={device.fingerprint}>
                  <code class="fingerprint" title={device.fingerprint}>
                    {shortFingerprintOf(device.fingerprint)}
                  </code>
                  {device.fingerprint === page.deviceFingerprint
                    ? <span class="this-device">this device</span>
                    : null}
                  <span class={`device-when${device.online ? " online" : ""}`}>
                    {`${deviceAddedText(device)} · ${deviceSeenText(device)}`}
                  </span>
                </li>
              ))}
            </ul>
          )}
        </>
      )}
      <div class="card-actions">
        {mine
          ? (
            page.guest.value
              ? null
              : (
                <button type="button" class="secondary" onClick={() => page.openAddDevice()}>
                  Add a device
                </button>
              )
          )
          : (
            <button
              type="button"
              class="secondary"
              onClick={() => {
                page.closePerson();
                page.openPrivate(card.nick);
              }}
            >
              Private message
            </button>
          )}
      </div>
    </section>
  );
}
