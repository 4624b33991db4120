/**
 * The manifest: the settings this integration reads (resolved database → environment →
 * default, handed over as `ctx.settings`) and where GitHub sends webhooks. How to connect
 * a repository: the README's "Connect a repository".
 */
import type { SetupManifest } from "switchyard";

export default {
  env_vars: [
    {
      key: "GITHUB_WEBHOOK_SECRET",
      required: true,
      secret: true,
      description:
        "The webhook's secret: GitHub signs each delivery with it (X-Hub-Signature-256); without it every delivery is refused",
    },
    {
      key: "GITHUB_TOKEN",
      secret: true,
      description:
        "Token for the REST API (fine-grained: Pull requests read, Issues read and write, Contents read, Metadata read); needed to post answers",
    },
    {
      key: "GITHUB_API_URL",
      default: "https://api.github.com",
      description: "REST API root; GitHub Enterprise Server: https://HOST/api/v3",
    },
    {
      key: "GITHUB_BOT_LOGIN",
      description:
        "Login of the account the token belongs to (the one that posts answers); events it sends are ignored",
    },
    {
      key: "GITHUB_BOT_ID",
      default: "default",
      description: "The switchyard bot that answers GitHub events",
    },
    {
      key: "GITHUB_REPO_ALLOWLIST",
      description:
        "Optional owner/repo list (comma or space separated): when set, events from, tool reads of and comments on other repositories are refused",
    },
  ],
  webhook: {
    path: "/integrations/github/webhook",
    description:
      "GitHub repository or organisation webhook (content type application/json, secret GITHUB_WEBHOOK_SECRET)",
  },
  activation: { requires: ["GITHUB_WEBHOOK_SECRET"] },
} satisfies SetupManifest;
