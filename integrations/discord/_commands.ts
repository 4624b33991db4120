/**
 * The slash commands this adapter answers, as `register-commands` sends them
 * (https://discord.com/developers/docs/interactions/application-commands#application-command-object):
 * type 1 (CHAT_INPUT); option type 3 is STRING, 11 ATTACHMENT.
 */
import { ASK_COMMAND, FILE_OPTION, NEW_COMMAND, PROMPT_OPTION } from "./_interaction.ts";

/** Interaction contexts (0 guild, 1 DM with the bot); only global commands take them. */
const GUILD_AND_DM = [0, 1];

/**
 * The command list: `/ask prompt:<text>` and `/new`.
 * @param global true for global registration (the commands are then usable in DMs too)
 */
export function slashCommands(global: boolean): Array<Record<string, unknown>> {
  const where = global ? { contexts: GUILD_AND_DM } : {};
  return [
    {
      name: ASK_COMMAND,
      type: 1,
      description: "Ask the bot",
      options: [
        {
          type: 3,
          name: PROMPT_OPTION,
          description: "What to ask",
          required: true,
          max_length: 6000,
        },
        { type: 11, name: FILE_OPTION, description: "A file for the bot", required: false },
      ],
      ...where,
    },
    {
      name: NEW_COMMAND,
      type: 1,
      description: "Start a fresh conversation with the bot in this channel",
      ...where,
    },
  ];
}
