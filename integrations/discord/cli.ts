/**
 * `switchyard discord <command>`: `register-commands` registers `/ask` and `/new` with
 * Discord (a bulk overwrite: commands of the application not in the list are removed).
 * With `DISCORD_GUILD_ID` set they go to that guild only (available at once, handy while
 * testing); otherwise globally.
 */
import type { CliDefinition } from "switchyard";
import { overwriteCommands } from "./_api.ts";
import { slashCommands } from "./_commands.ts";

export default {
  commands: {
    "register-commands": {
      description:
        "Register /ask and /new (globally, or in DISCORD_GUILD_ID) with DISCORD_BOT_TOKEN",
      async run(ctx) {
        const missing = ["DISCORD_APPLICATION_ID", "DISCORD_BOT_TOKEN"].filter(
          (k) => !ctx.settings[k],
        );
        if (missing.length) throw new Error(`${missing.join(" and ")} must be set`);
        const guild = ctx.settings.DISCORD_GUILD_ID || undefined;
        const stored = await overwriteCommands(ctx, slashCommands(!guild), guild);
        const names = (Array.isArray(stored) ? stored : []).map(
          (c) => `  /${c.name}${c.id ? ` (id ${c.id})` : ""}`,
        );
        const where = guild ? `in guild ${guild}` : "globally";
        return `Registered ${names.length} commands ${where} for application ${ctx.settings.DISCORD_APPLICATION_ID}:\n${names.join("\n")}`;
      },
    },
  },
} satisfies CliDefinition;
