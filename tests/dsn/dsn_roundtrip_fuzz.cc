// Fuzz target dsn_roundtrip: (1) ParseDsn on arbitrary bytes must return, never crash;
// (2) the same bytes drive a composition whose output must keep the line rules, parse back,
// and carry exactly the recipients, actions and header fields we put in.

#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "queue/dsn/dsn_composer.h"
#include "queue/dsn/dsn_parser.h"
#include "queue/dsn/field_codec.h"
#include "tests/dsn/dsn_test_util.h"

namespace outpost::dsn {
namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

void ComposeAndCheck(FuzzedDataProvider& in) {
  DsnEvent event = in.PickValueInArray({DsnEvent::kFailure, DsnEvent::kDelay, DsnEvent::kSuccess});
  std::string raw = in.ConsumeRandomLengthString(4096);
  OriginalMessage m;
  m.id = in.ConsumeIntegral<uint64_t>();
  m.return_path = in.ConsumeRandomLengthString(64);
  m.envid = in.ConsumeRandomLengthString(64);
  m.ret = in.PickValueInArray({DsnRet::kUnspecified, DsnRet::kFull, DsnRet::kHeaders});
  m.arrival_unix_ms = in.ConsumeIntegralInRange<int64_t>(0, 4102444800000);
  m.raw = raw;
  std::vector<RecipientReport> rcpts(in.ConsumeIntegralInRange<size_t>(1, 4));
  for (RecipientReport& r : rcpts) {
    r.final_recipient = in.ConsumeRandomLengthString(64);
    r.original_recipient = in.ConsumeRandomLengthString(64);
    switch (event) {
      case DsnEvent::kFailure:
        r.action = DsnAction::kFailed;
        break;
      case DsnEvent::kDelay:
        r.action = DsnAction::kDelayed;
        break;
      case DsnEvent::kSuccess:
        r.action =
            in.PickValueInArray({DsnAction::kDelivered, DsnAction::kRelayed, DsnAction::kExpanded});
        break;
    }
    r.status = in.ConsumeRandomLengthString(12);
    r.reply_enhanced = in.ConsumeRandomLengthString(12);
    r.smtp_code = in.ConsumeIntegralInRange<int>(0, 999);
    r.reply_text = in.ConsumeRandomLengthString(3000);
    r.remote_mta = in.ConsumeRandomLengthString(64);
    if (in.ConsumeBool())
      r.last_attempt_unix_ms = in.ConsumeIntegralInRange<int64_t>(0, 4102444800000);
    if (in.ConsumeBool())
      r.will_retry_until_unix_ms = in.ConsumeIntegralInRange<int64_t>(0, 4102444800000);
  }
  DsnComposerOptions options;
  options.reporting_mta = "mx.example.org";
  options.max_full_message_bytes = in.ConsumeIntegralInRange<size_t>(0, 8192);
  options.max_header_bytes = in.ConsumeIntegralInRange<size_t>(0, 8192);
  DsnComposer composer(options, SeededRandomBits(in.ConsumeIntegral<uint64_t>()));
  auto c = composer.Compose(m, event, rcpts, 1767225600000);
  if (!c.ok()) {
    // Only these refusals exist for well-typed input.
    Check(
        m.return_path.empty() || c.status().message().find("final recipient") != std::string::npos,
        "unexpected compose error");
    return;
  }
  Check(testing_util::LineProblem(c->message).empty(), "line rules");
  auto p = ParseDsn(c->message);
  Check(p.ok(), "our own DSN parses");
  std::vector<std::string> names;
  for (const auto& f : p->headers) names.push_back(f.name);
  Check(names == std::vector<std::string>{"From", "To", "Subject", "Date", "Message-ID",
                                          "MIME-Version", "Content-Type", "Auto-Submitted"},
        "exactly our header fields");
  Check(p->recipients.size() == rcpts.size(), "recipient count");
  for (size_t i = 0; i < rcpts.size(); ++i) {
    const ParsedRecipient& got = p->recipients[i];
    Check(got.action == rcpts[i].action, "action");
    Check(got.final_recipient.address == SanitizeFieldText(rcpts[i].final_recipient, true),
          "final recipient");
    Check(IsValidEnhancedStatus(got.status), "status syntax");
    Check(got.will_retry_until_unix_ms.has_value() ==
              (rcpts[i].action == DsnAction::kDelayed && rcpts[i].will_retry_until_unix_ms),
          "will-retry-until only for delays");
    for (const auto& f : got.fields) {
      Check(f.name == "Original-Recipient" || f.name == "Final-Recipient" || f.name == "Action" ||
                f.name == "Status" || f.name == "Remote-MTA" || f.name == "Diagnostic-Code" ||
                f.name == "Last-Attempt-Date" || f.name == "Will-Retry-Until",
            "only our per-recipient fields");
    }
  }
  if (c->full_message_attached) Check(p->returned_content_type.starts_with("message/"), "full");
}

}  // namespace
}  // namespace outpost::dsn

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto parsed = outpost::dsn::ParseDsn(bytes);
  if (parsed.ok() && parsed->recipients.empty()) std::abort();  // contract: at least one
  FuzzedDataProvider in(data, size);
  outpost::dsn::ComposeAndCheck(in);
  return 0;
}
