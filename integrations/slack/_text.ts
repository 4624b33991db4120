/**
 * Slack text: what a user wrote (the leading bot mention cut off) and what the bot posts
 * (escaped for mrkdwn).
 */

/**
 * `text` escaped for Slack's mrkdwn: `&` → `&amp;`, `<` → `&lt;`, `>` → `&gt;`, so a reply
 * can neither mention people (`<@U…>`, `<!channel>`) nor make links of its own.
 * Source: https://api.slack.com/reference/surfaces/formatting#escaping
 */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** `<@U123>` or `<@U123|name>` at the start of a message, with the spaces after it. */
const LEADING_MENTION = /^\s*<@[A-Z0-9]+(?:\|[^>]*)?>[\s,:]*/i;

/** `text` without its leading user mentions (`<@U…>`), trimmed. */
export function stripLeadingMention(text: string): string {
  let rest = text;
  for (let m = LEADING_MENTION.exec(rest); m; m = LEADING_MENTION.exec(rest)) {
    rest = rest.slice(m[0].length);
  }
  return rest.trim();
}

/** Whether `text` mentions the user `userId` anywhere (`<@U…>`, `<@U…|name>`). */
export function mentionsUser(text: string, userId: string): boolean {
  return text.includes(`<@${userId}>`) || text.includes(`<@${userId}|`);
}
