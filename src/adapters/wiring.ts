/**
 * Builds the server's adapter host: adapters' approval decisions go to the approval
 * service, their inbound files and a reply's files to the attachment service, the retry
 * delay after a failed start from the test knobs (`AppTuning`). app.ts calls this.
 */
import type { Logger } from "pino";
import type { ApprovalService } from "../approvals/service.ts";
import { inboundSaver } from "../attachments/inbound.ts";
import { replyFiles } from "../attachments/reply-files.ts";
import type { AttachmentService } from "../attachments/service.ts";
import type { Config } from "../config.ts";
import type { DispatcherRegistry } from "../dispatch/registry.ts";
import type { OutboundHttpClient } from "../outbox/http-client.ts";
import type { DeliveryWorker } from "../outbox/worker.ts";
import type { SessionService } from "../sessions/service.ts";
import type { Store } from "../store/index.ts";
import type { AppTuning } from "../tuning.ts";
import { AdapterHost } from "./host.ts";

/** What {@link createAdapterHost} needs. */
export interface AdapterWiring {
  config: Pick<Config, "env">;
  tuning: Pick<AppTuning, "adapterRetryMs">;
  store: Store;
  sessions: SessionService;
  dispatchers: DispatcherRegistry;
  deliveryWorker: DeliveryWorker;
  log: Logger;
  /** Decides approvals answered in a conversation. */
  approvals: Pick<ApprovalService, "decideFromConversation">;
  /** Keeps inbound files and finds a reply's files. */
  attachments: AttachmentService;
  /** Downloads inbound files (the one outbound HTTP client). */
  http: OutboundHttpClient;
}

/** The server's adapter host (adapters register while integrations load; start it last). */
export function createAdapterHost(w: AdapterWiring): AdapterHost {
  const { store, attachments } = w;
  return new AdapterHost({
    store,
    sessions: w.sessions,
    dispatchers: w.dispatchers,
    deliveryWorker: w.deliveryWorker,
    log: w.log,
    env: w.config.env,
    retryBaseMs: w.tuning.adapterRetryMs,
    decide: (adapter, input) => w.approvals.decideFromConversation(adapter, input),
    saveFiles: inboundSaver({ attachments, http: w.http, log: w.log }),
    replyFiles: replyFiles(store, attachments),
  });
}
