/**
 * Every schema migration, by name. Each lives in its own module; add a new one here
 * (numbered after the last) and never edit a released one.
 */
import type { Migration } from "kysely";
import { migration as m0001 } from "./0001_core.ts";
import { migration as m0002 } from "./0002_integration_settings.ts";
import { migration as m0003 } from "./0003_documents.ts";
import { migration as m0004 } from "./0004_skills.ts";
import { migration as m0005 } from "./0005_inbound_receipts.ts";
import { migration as m0006 } from "./0006_outbound_events.ts";
import { migration as m0007 } from "./0007_bots_managed_by.ts";
import { migration as m0008 } from "./0008_receipts_fingerprint.ts";
import { migration as m0009 } from "./0009_delivery_destination.ts";
import { migration as m0010 } from "./0010_list_order.ts";
import { migration as m0011 } from "./0011_channels.ts";
import { migration as m0012 } from "./0012_integration_state.ts";
import { migration as m0013 } from "./0013_leases.ts";
import { migration as m0014 } from "./0014_ui_sessions.ts";
import { migration as m0015 } from "./0015_jobs.ts";
import { migration as m0016 } from "./0016_instances.ts";
import { migration as m0017 } from "./0017_approvals.ts";
import { migration as m0018 } from "./0018_bot_runtime.ts";
import { migration as m0019 } from "./0019_attachments.ts";
import { migration as m0020 } from "./0020_usage_budgets.ts";
import { migration as m0021 } from "./0021_delegation.ts";
import { migration as m0022 } from "./0022_message_sequence.ts";
import { migration as m0023 } from "./0023_trace_context.ts";
import { migration as m0024 } from "./0024_delivery_attempts.ts";
import { migration as m0025 } from "./0025_model_calls.ts";

/** The migrations Kysely's Migrator runs, keyed by name (run in name order). */
export const migrations: Record<string, Migration> = {
  "0001_core": m0001,
  "0002_integration_settings": m0002,
  "0003_documents": m0003,
  "0004_skills": m0004,
  "0005_inbound_receipts": m0005,
  "0006_outbound_events": m0006,
  "0007_bots_managed_by": m0007,
  "0008_receipts_fingerprint": m0008,
  "0009_delivery_destination": m0009,
  "0010_list_order": m0010,
  "0011_channels": m0011,
  "0012_integration_state": m0012,
  "0013_leases": m0013,
  "0014_ui_sessions": m0014,
  "0015_jobs": m0015,
  "0016_instances": m0016,
  "0017_approvals": m0017,
  "0018_bot_runtime": m0018,
  "0019_attachments": m0019,
  "0020_usage_budgets": m0020,
  "0021_delegation": m0021,
  "0022_message_sequence": m0022,
  "0023_trace_context": m0023,
  "0024_delivery_attempts": m0024,
  "0025_model_calls": m0025,
};
