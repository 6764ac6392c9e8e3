#include "scheduler/outcome_planner.h"

#include <algorithm>

#include "queue/dsn/dsn_policy.h"

namespace outpost::scheduler {
namespace {

using queue::RecipientState;

RecipientState StateOf(const proto::RecipientRecord& r) {
  return queue::RecipientStateFromProto(r.state()).value_or(RecipientState::kScheduled);
}

// The report entry for `rcpt` with its last known reply (or `outcome`'s when given).
dsn::RecipientReport BaseReport(const proto::RecipientRecord& rcpt) {
  dsn::RecipientReport rep;
  rep.final_recipient = rcpt.address();
  rep.original_recipient = rcpt.orcpt();
  rep.status = rcpt.last_reply().enhanced();
  rep.smtp_code = rcpt.last_reply().code();
  rep.reply_text = rcpt.last_reply().text();
  rep.remote_mta = rcpt.last_reply().host();
  if (rcpt.attempts_size() > 0) {
    rep.last_attempt_unix_ms = rcpt.attempts(rcpt.attempts_size() - 1).at_unix_ms();
  }
  return rep;
}

void FillFromOutcome(const transport::RecipientOutcome& o, int64_t at, dsn::RecipientReport* rep) {
  rep->status = o.reply.enhanced;
  rep->smtp_code = o.reply.code;
  rep->reply_text = o.reply.text;
  rep->remote_mta = o.host;
  rep->last_attempt_unix_ms = at;
}

// Attaches a report for `event` when the sender's NOTIFY and return path ask for one.
void MaybeReport(const proto::MessageRecord& m, const proto::RecipientRecord& rcpt,
                 dsn::DsnEvent event, dsn::SuccessPath path, PlannedChange* p) {
  auto action = dsn::DueDsnAction(NotifyFlagsOf(rcpt.notify_flags()), event, m.return_path(),
                                  path);
  if (!action) return;
  p->dsn_event = event;
  p->report.action = *action;
  switch (event) {
    case dsn::DsnEvent::kFailure: p->change.dsn_sent_flags |= queue::kDsnSentFailure; break;
    case dsn::DsnEvent::kDelay: p->change.dsn_sent_flags |= queue::kDsnSentDelay; break;
    case dsn::DsnEvent::kSuccess: p->change.dsn_sent_flags |= queue::kDsnSentSuccess; break;
  }
}

// Adds the delay notice that is due (if any) to a change that keeps the recipient pending.
void AddDueNotice(const proto::MessageRecord& m, const proto::RecipientRecord& rcpt,
                  const PlanContext& ctx, PlannedChange* p) {
  if (!IsNotifyDue(rcpt, ctx.now_unix_ms)) return;
  NotifyStep step;  // no schedule: no further notices
  if (ctx.schedule) {
    step = NextNotify(*ctx.schedule, rcpt.notify_base_unix_ms(), rcpt.notify_num(),
                      ctx.now_unix_ms);
  }
  p->change.notify_increment = step.increment;
  p->change.next_notify_unix_ms = step.next_notify_unix_ms;
  const int64_t expiry =
      p->change.expiry_unix_ms ? *p->change.expiry_unix_ms : rcpt.expiry_unix_ms();
  MaybeReport(m, rcpt, dsn::DsnEvent::kDelay, dsn::SuccessPath::kFinalDelivery, p);
  if (p->dsn_event && expiry > 0) p->report.will_retry_until_unix_ms = expiry;
}

queue::AttemptInfo AttemptRecordOf(const transport::RecipientOutcome& o, const AttemptMeta& a) {
  queue::AttemptInfo info;
  info.at_unix_ms = a.started_unix_ms;
  switch (o.kind) {
    case transport::OutcomeKind::kDelivered: info.kind = queue::OutcomeKind::kDelivered; break;
    case transport::OutcomeKind::kTempFail: info.kind = queue::OutcomeKind::kTemporary; break;
    case transport::OutcomeKind::kPermFail: info.kind = queue::OutcomeKind::kPermanent; break;
  }
  info.route = a.route;
  info.host = o.host;
  info.ip = o.ip;
  info.reply_code = o.reply.code;
  info.reply_enhanced = o.reply.enhanced;
  info.reply_text = o.reply.text;
  info.error_class = std::string(transport::ErrorClassName(
      o.kind == transport::OutcomeKind::kDelivered ? transport::ErrorClass::kNone : o.error));
  info.duration_ms = a.duration_ms;
  return info;
}

PlannedChange Failed(const proto::MessageRecord& m, const proto::RecipientRecord& rcpt,
                     dsn::RecipientReport report) {
  PlannedChange p;
  p.change.idx = rcpt.idx();
  p.change.new_state = RecipientState::kFailed;
  p.report = std::move(report);
  MaybeReport(m, rcpt, dsn::DsnEvent::kFailure, dsn::SuccessPath::kFinalDelivery, &p);
  p.log_status = p.dsn_event ? LogStatus::kBounced : LogStatus::kFailed;
  return p;
}

}  // namespace

std::string_view LogStatusName(LogStatus s) {
  switch (s) {
    case LogStatus::kSent: return "sent";
    case LogStatus::kDeferred: return "deferred";
    case LogStatus::kBounced: return "bounced";
    case LogStatus::kFailed: return "failed";
    case LogStatus::kNone: break;
  }
  return "none";
}

dsn::NotifyFlags NotifyFlagsOf(uint32_t f) {
  dsn::NotifyFlags n;
  n.never = (f & queue::kNotifyNever) != 0;
  n.success = (f & queue::kNotifySuccess) != 0;
  n.failure = (f & queue::kNotifyFailure) != 0;
  n.delay = (f & queue::kNotifyDelay) != 0;
  return n;
}

bool IsExpired(const proto::RecipientRecord& rcpt, int64_t now_unix_ms) {
  if (rcpt.expiry_unix_ms() > 0 && !rcpt.expiry_paused() && rcpt.expiry_unix_ms() <= now_unix_ms) {
    return true;
  }
  return rcpt.max_attempts() > 0 && rcpt.retry_num() >= rcpt.max_attempts();
}

bool IsNotifyDue(const proto::RecipientRecord& rcpt, int64_t now_unix_ms) {
  return rcpt.next_notify_unix_ms() > 0 && rcpt.next_notify_unix_ms() <= now_unix_ms;
}

PlannedChange PlanAttemptOutcome(const proto::MessageRecord& m, const proto::RecipientRecord& rcpt,
                                 const transport::RecipientOutcome& o, const AttemptMeta& attempt,
                                 const PlanContext& ctx) {
  if (o.kind == transport::OutcomeKind::kTempFail && o.error == transport::ErrorClass::kConfig) {
    return PlanConfigFailure(m, rcpt, o.reply.text, attempt.route, ctx);
  }
  dsn::RecipientReport report = BaseReport(rcpt);
  FillFromOutcome(o, attempt.started_unix_ms, &report);
  PlannedChange p;
  switch (o.kind) {
    case transport::OutcomeKind::kDelivered: {
      p.change.idx = rcpt.idx();
      p.change.new_state = RecipientState::kDelivered;
      p.report = std::move(report);
      MaybeReport(m, rcpt, dsn::DsnEvent::kSuccess,
                  dsn::SuccessPathOf(o.dsn_passed_on, o.final_delivery), &p);
      p.log_status = LogStatus::kSent;
      break;
    }
    case transport::OutcomeKind::kPermFail:
      p = Failed(m, rcpt, std::move(report));
      break;
    case transport::OutcomeKind::kTempFail: {
      const uint32_t n = rcpt.retry_num() + 1;
      if (rcpt.max_attempts() > 0 && n >= rcpt.max_attempts()) {
        p = Failed(m, rcpt, std::move(report));
        break;
      }
      if (rcpt.expiry_unix_ms() > 0 && !rcpt.expiry_paused() &&
          rcpt.expiry_unix_ms() <= ctx.now_unix_ms) {
        p = Failed(m, rcpt, std::move(report));
        break;
      }
      p.change.idx = rcpt.idx();
      p.change.new_state = RecipientState::kDeferred;
      const Millis wait =
          ctx.schedule ? RetryDelay(*ctx.schedule, n, *ctx.random) : ctx.config_retry;
      p.change.next_attempt_unix_ms = ctx.now_unix_ms + wait.count();
      p.report = std::move(report);
      AddDueNotice(m, rcpt, ctx, &p);
      p.log_status = LogStatus::kDeferred;
      break;
    }
  }
  p.change.attempt = AttemptRecordOf(o, attempt);
  p.change.retry_increment = 1;
  return p;
}

PlannedChange PlanConfigFailure(const proto::MessageRecord& m, const proto::RecipientRecord& rcpt,
                                std::string_view error, std::string_view route,
                                const PlanContext& ctx) {
  PlannedChange p;
  p.change.idx = rcpt.idx();
  p.change.new_state = RecipientState::kDeferred;
  p.change.retry_increment = 0;
  p.change.next_attempt_unix_ms = ctx.now_unix_ms + ctx.config_retry.count();
  if (rcpt.expiry_unix_ms() > 0) {
    p.change.expiry_unix_ms = rcpt.expiry_unix_ms() + ctx.config_retry.count();
  }
  queue::AttemptInfo info;
  info.at_unix_ms = ctx.now_unix_ms;
  info.kind = queue::OutcomeKind::kTemporary;
  info.route = std::string(route);
  info.reply_text = std::string(error);
  info.error_class = "config";
  p.change.attempt = std::move(info);
  p.report = BaseReport(rcpt);
  AddDueNotice(m, rcpt, ctx, &p);
  p.log_status = LogStatus::kDeferred;
  return p;
}

PlannedChange PlanExpiry(const proto::MessageRecord& m, const proto::RecipientRecord& rcpt,
                         const PlanContext&) {
  dsn::RecipientReport report = BaseReport(rcpt);
  if (report.status.empty() || report.status[0] != '5') report.status = "5.4.7";
  if (report.smtp_code == 0 && report.reply_text.empty()) {
    report.reply_text = rcpt.retry_num() == 0
                            ? "message expired without any delivery attempt"
                            : "message expired after " + std::to_string(rcpt.retry_num()) +
                                  " attempts (last error: " + rcpt.last_error() + ")";
  }
  return Failed(m, rcpt, std::move(report));
}

PlannedChange PlanNotice(const proto::MessageRecord& m, const proto::RecipientRecord& rcpt,
                         const PlanContext& ctx) {
  PlannedChange p;
  p.change.idx = rcpt.idx();
  p.change.new_state = StateOf(rcpt);
  p.report = BaseReport(rcpt);
  AddDueNotice(m, rcpt, ctx, &p);
  return p;
}

PlannedChange PlanPostpone(const proto::RecipientRecord& rcpt, int64_t next_attempt_unix_ms) {
  PlannedChange p;
  p.change.idx = rcpt.idx();
  p.change.new_state = StateOf(rcpt);
  p.change.next_attempt_unix_ms = next_attempt_unix_ms;
  return p;
}

}  // namespace outpost::scheduler
