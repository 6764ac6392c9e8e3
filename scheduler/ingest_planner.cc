#include "scheduler/ingest_planner.h"

#include "common/logging.h"
#include "scheduler/envelope_fields.h"
#include "scheduler/schedule_plan.h"

namespace outpost::scheduler {
namespace {

// The schedule for one envelope, or the fallback with a delayed first attempt.
SchedulePlan Decide(const router::Router& router, const EnvelopeFields& env, int64_t base_unix_ms,
                    int64_t now_unix_ms, std::chrono::milliseconds config_retry,
                    std::string_view what, bool* config_error) {
  auto decision = router.DecideSchedule(env.View());
  if (decision.ok()) return PlanFromSchedule(*decision->object, base_unix_ms, now_unix_ms);
  *config_error = true;
  OUTPOST_LOG_ERROR("config_error", {"strategy", "schedule"}, {"at", what}, {"rcpt", env.rcpt},
                    {"error", decision.status().message()},
                    {"action", "queued in the built-in remote schedule, retry in 5m"});
  const router::Schedule* fallback = FallbackSchedule(router.config());
  SchedulePlan plan;
  if (fallback) plan = PlanFromSchedule(*fallback, base_unix_ms, now_unix_ms);
  if (plan.virtual_queue.empty()) plan.virtual_queue = "remote";
  plan.next_attempt_unix_ms = now_unix_ms + config_retry.count();
  return plan;
}

}  // namespace

size_t PlanNewMessage(const router::Router& router, queue::NewMessage* message, int64_t now_unix_ms,
                      std::chrono::milliseconds config_retry) {
  auto recipients = std::make_shared<std::vector<std::string>>();
  recipients->reserve(message->recipients.size());
  for (const auto& r : message->recipients) {
    recipients->push_back(router::NormalizeAddress(r.address).address);
  }
  size_t errors = 0;
  for (size_t i = 0; i < message->recipients.size(); ++i) {
    EnvelopeFields env = EnvelopeForNew(*message, recipients, i, now_unix_ms);
    bool config_error = false;
    SchedulePlan plan = Decide(router, env, message->received_unix_ms, now_unix_ms, config_retry,
                               "ingest", &config_error);
    if (config_error) ++errors;
    queue::NewRecipient& r = message->recipients[i];
    r.virtual_queue = std::move(plan.virtual_queue);
    r.schedule = std::move(plan.schedule);
    r.next_attempt_unix_ms = plan.next_attempt_unix_ms;
    r.next_notify_unix_ms = plan.next_notify_unix_ms;
    r.expiry_unix_ms = plan.expiry_unix_ms;
    r.max_attempts = plan.max_attempts;
  }
  return errors;
}

void PlanReplay(const router::Router& router, const proto::MessageRecord& message,
                proto::RecipientRecord* rcpt, int64_t now_unix_ms,
                std::chrono::milliseconds config_retry) {
  EnvelopeFields env = EnvelopeForRecord(message, LowerRecipients(message), *rcpt, now_unix_ms);
  bool config_error = false;
  SchedulePlan plan =
      Decide(router, env, now_unix_ms, now_unix_ms, config_retry, "replay", &config_error);
  rcpt->set_virtual_queue(plan.virtual_queue);
  rcpt->set_schedule(plan.schedule);
  rcpt->set_next_attempt_unix_ms(plan.next_attempt_unix_ms);
  rcpt->set_next_notify_unix_ms(plan.next_notify_unix_ms);
  rcpt->set_expiry_unix_ms(plan.expiry_unix_ms);
  rcpt->set_max_attempts(plan.max_attempts);
}

}  // namespace outpost::scheduler
