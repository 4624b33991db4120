// Preact + htm, as served through the import map (no build step).
import htm from "htm";
import { h } from "preact";

/** Tagged template producing Preact elements. */
export const html = htm.bind(h);
