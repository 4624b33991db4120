/** Errors of the attachment store. */

/** A file was larger than the store's limit; nothing of it was kept. */
export class AttachmentTooLargeError extends Error {
  /** The limit, bytes. */
  readonly maxBytes: number;
  constructor(maxBytes: number) {
    super(
      `The file is larger than the attachment limit of ${maxBytes} bytes (SWITCHYARD_ATTACHMENT_MAX_BYTES)`,
    );
    this.name = "AttachmentTooLargeError";
    this.maxBytes = maxBytes;
  }
}
