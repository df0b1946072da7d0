/// <reference no-default-lib="true" />
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
/**
 * The transfers in progress, above the composer: each file's name, a
 * progress bar, where it stands (percent, speed, time left; waiting to
 * resume while offline; the server's words when it failed), and a button
 * that cancels it (or, once failed, takes it off the list).
 *
 * Owns: the list's markup. The words are transfer_words.ts's, the
 * transfers page_files.ts's. Imports preact, the page's types and lib/wire/inert_text.ts.
 */
import type { ChatPage } from "../chat_page.ts";
import type { TransferRow } from "../page_files.ts";
import { transferText } from "../transfer_words.ts";
import { visibleBidi } from "../../../wire/inert_text.ts";

export function TransferTray({ page }: { page: ChatPage }) {
  const rows = page.files.transfers.value;
  if (rows.length === 0) return null;
  const offline = page.status.value.state !== "online";
  return (
    <ul id="transfers" class="transfers" aria-label="File transfers">
      {rows.map((row) => <TransferLine key={row.key} row={row} offline={offline} />)}
    </ul>
  );
}

function TransferLine({ row, offline }: { row: TransferRow; offline: boolean }) {
  const { progress } = row;
  const failed = progress.state === "failed";
  const name = visibleBidi(row.name);
  const verb = row.direction === "upload" ? "Sending" : "Getting";
  return (
    <li
      class={`transfer${failed ? " failed" : ""}`}
      data-state={row.queued ? "queued" : progress.state}
    >
      <span class="transfer-icon" aria-hidden="true">{row.direction === "upload" ? "↑" : "↓"}</span>
      <span class="transfer-name" title={name}>{name}</span>
      <span class="transfer-status" role={failed ? "alert" : undefined}>
        {transferText(progress, { queued: row.queued, offline })}
      </span>
      <button
        type="button"
        class="transfer-cancel"
        aria-label={failed ? `Dismiss ${name}` : `Cancel: ${verb.toLowerCase()} ${name}`}
        title={failed ? "Dismiss" : "Cancel"}
        onClick={row.cancel}
      >
        ×
      </button>
      {failed ? null : (
        <progress
          class="transfer-bar"
          max={Math.max(1, progress.total)}
          value={progress.done}
          aria-label={`${verb} ${name}`}
        />
      )}
    </li>
  );
}
