// "Record on server" in the call controls: what the button, the banner and
// the prompt say for the server recording the relay last told us about
// (CallView.cloud, from the relay's push). Tested in cloudRec.test.ts.

import type { CloudCall } from "../generated/app";
import { t } from "./i18n";

export interface CloudRecView {
  /** The button: start a recording, stop ours or the other's (either may stop), or wait. */
  action: "start" | "stop" | "none";
  label: string;
  /** A line under the controls: asking, recording, stopped, failed (with why). */
  line: { text: string; tone: "recording" | "waiting" | "info" | "error" } | null;
  /** The other side asks: show Allow / Refuse. */
  ask: string | null;
}

export function cloudRecView(cloud: CloudCall | null | undefined, me: string, peer: string): CloudRecView {
  const start: CloudRecView = { action: "start", label: t("call.cloud.start"), line: null, ask: null };
  if (!cloud) return start;
  const mine = cloud.started_by === me;
  switch (cloud.state) {
    case "pending":
      return mine
        ? { action: "none", label: t("call.cloud.start"), line: { text: t("call.cloud.asking", { peer }), tone: "waiting" }, ask: null }
        : { action: "none", label: t("call.cloud.start"), line: null, ask: t("call.cloud.ask", { user: cloud.started_by }) };
    case "recording":
      return { action: "stop", label: t("call.cloud.stop"), line: { text: t("call.rec.server"), tone: "recording" }, ask: null };
    case "done":
      return { ...start, line: { text: t("call.cloud.stopped"), tone: "info" } };
    case "declined":
      return { ...start, line: { text: mine ? t("call.cloud.declined", { user: peer }) : t("call.cloud.you_declined"), tone: "info" } };
    case "failed":
      return { ...start, line: { text: t("call.cloud.failed", { why: cloud.reason ?? t("call.cloud.no_reason") }), tone: "error" } };
  }
  return start;
}
