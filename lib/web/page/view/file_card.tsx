/// <reference no-default-lib="true" />
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
/**
 * A file message in the conversation: a card (the file's kind as a tag, its
 * name, size and declared type, and Download), or for a small PNG, JPEG, GIF
 * or WebP whose bytes proved it one, a thumbnail that opens the picture full
 * size (a dialog: Escape, a click beside it or Close shuts it).
 *
 * Owns: the markup of file messages and of the viewer. Every name from the
 * network is a text node with its bidi controls made visible; the only
 * picture drawn is a thumbnail or a blob the page checked (page_files.ts).
 * Imports preact, the page's types, image_bytes.ts and lib/wire/.
 */
import { useLayoutEffect, useRef } from "preact/hooks";
import type { FileInfo } from "../../../wire/protocol.ts";
import { formatFileSize } from "../../../wire/file_chunk.ts";
import { visibleBidi } from "../../../wire/inert_text.ts";
import type { ChatPage } from "../chat_page.ts";
import { isPreviewCandidate } from "../image_bytes.ts";

/** What a card's tag says: the name's extension ("PDF"), or "FILE". */
function extensionTag(name: string): string {
  const dot = name.lastIndexOf(".");
  const extension = dot > 0 ? name.slice(dot + 1) : "";
  return /^[a-z0-9]{1,4}$/i.test(extension) ? extension.toUpperCase() : "FILE";
}

/** The colour family of a card's tag, from the declared type (style.css `data-kind`). */
function kindOf(mime: string): string {
  const [family = "", subtype = ""] = mime.toLowerCase().split("/");
  if (["image", "audio", "video", "text"].includes(family)) return family;
  if (/pdf/.test(subtype)) return "pdf";
  if (/zip|tar|gzip|compressed|x-xz|rar/.test(subtype)) return "archive";
  return "other";
}

interface FileProps {
  page: ChatPage;
  /** The file message's id, which is the file's id. */
  id: number;
  file: FileInfo;
}

/** A file message: a thumbnail when it is a picture the page shows, else a card. */
export function FileMessage({ page, id, file }: FileProps) {
  return isPreviewCandidate(file)
    ? <PictureMessage page={page} id={id} file={file} />
    : <FileCard page={page} id={id} file={file} />;
}

function PictureMessage({ page, id, file }: FileProps) {
  const view = page.files.picture(id, file).value;
  if (view.state !== "shown") {
    return <FileCard page={page} id={id} file={file} loading={view.state === "loading"} />;
  }
  const name = visibleBidi(file.name);
  const { url, width, height } = view.thumbnail;
  return (
    <figure class="file-picture" data-file-id={String(id)}>
      <button
        type="button"
        class="thumb"
        aria-label={`Open ${name} full size`}
        onClick={() => void page.files.openPicture(id, file)}
      >
        <img src={url} width={width} height={height} alt={name} />
      </button>
      <figcaption class="file-caption">
        <span class="file-name" title={name}>{name}</span>
        <span class="file-meta">{formatFileSize(file.size)}</span>
        <button type="button" class="link-button" onClick={() => page.files.download(id, file)}>
          Download
        </button>
      </figcaption>
    </figure>
  );
}

/** A file as a card: its kind, name, size and type, and Download. */
export function FileCard({ page, id, file, loading = false }: FileProps & { loading?: boolean }) {
  const name = visibleBidi(file.name);
  return (
    <div class="file-card" data-file-id={String(id)}>
      <span class="file-icon" data-kind={kindOf(file.mime)} aria-hidden="true">
        {extensionTag(file.name)}
      </span>
      <span class="file-info">
        <span class="file-name" title={name}>{name}</span>
        <span class="file-meta">
          {`${formatFileSize(file.size)} · ${loading ? "loading preview…" : file.mime}`}
        </span>
      </span>
      <button
        type="button"
        class="secondary file-download"
        aria-label={`Download ${name}`}
        onClick={() => page.files.download(id, file)}
      >
        Download
      </button>
    </div>
  );
}

/** The picture open full size, in a modal dialog. */
export function PictureViewer({ page }: { page: ChatPage }) {
  const open = page.files.viewer.value;
  const dialog = useRef<HTMLDialogElement>(null);
  useLayoutEffect(() => {
    const element = dialog.current;
    if (element === null) return;
    if (open === null && element.open) element.close();
    if (open !== null && !element.open) element.showModal();
  }, [open]);
  const name = open === null ? "" : visibleBidi(open.file.name);
  return (
    <dialog
      ref={dialog}
      id="picture-viewer"
      class="picture-viewer"
      aria-label={name}
      onClose={() => page.files.closeViewer()}
      onClick={(event) => {
        if (event.target === event.currentTarget) event.currentTarget.close();
      }}
    >
      {open === null ? null : (
        <>
          <img class="picture-full" src={open.url} alt={name} />
          <div class="picture-bar">
            <span class="file-name">{name}</span>
            <button
              type="button"
              class="secondary"
              onClick={() => page.files.download(open.id, open.file)}
            >
              Download
            </button>
            <button type="button" class="secondary" onClick={() => dialog.current?.close()}>
              Close
            </button>
          </div>
        </>
      )}
    </dialog>
  );
}
