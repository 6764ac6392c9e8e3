#include "transport/local/maildir_agent.h"

#include <vector>

#include "common/logging.h"

namespace outpost::transport::local {
namespace {

// Envelope values become header text: drop CR, LF and other controls so a hostile address
// can never add a header line.
std::string HeaderSafe(std::string_view value) {
  std::string out;
  for (unsigned char c : value) {
    if (c >= 0x20 && c != 0x7F) out.push_back(static_cast<char>(c));
  }
  return out;
}

std::string TraceHeader(std::string_view return_path, std::string_view recipient) {
  return "Return-Path: <" + HeaderSafe(return_path) + ">\nDelivered-To: " + HeaderSafe(recipient) +
         "\n";
}

RecipientOutcome Delivered() {
  RecipientOutcome o;
  o.kind = OutcomeKind::kDelivered;
  o.error = ErrorClass::kNone;
  o.reply = SmtpReply{250, "2.0.0", "delivered to maildir"};
  o.final_delivery = true;
  return o;
}

RecipientOutcome WriteFailed(const Status& status) {
  RecipientOutcome o;
  o.kind = OutcomeKind::kTempFail;
  o.error = ErrorClass::kIo;
  if (status.Is(Status::Code::kNoSpace)) {
    o.reply = SmtpReply{452, "4.3.1", "maildir full: " + status.message()};
  } else {
    o.reply = SmtpReply{451, "4.3.0", "maildir write failed: " + status.message()};
  }
  return o;
}

RecipientOutcome Rejected(const SmtpReply& reply) {
  RecipientOutcome o;
  o.kind = OutcomeKind::kPermFail;
  o.error = ErrorClass::kNone;
  o.reply = reply;
  return o;
}

// One recipient to write: its index in the request and its mailbox.
struct WriteJob {
  size_t index;
  MaildirMailbox mailbox;
  std::string header;
};

}  // namespace

MaildirAgent::MaildirAgent(Dispatcher& dispatcher, MaildirAgentOptions options)
    : dispatcher_(dispatcher),
      options_(std::move(options)),
      writer_(std::make_shared<MaildirWriter>(options_.maildir_root, options_.hostname,
                                              dispatcher.clock())),
      pool_(options_.threads) {}

MaildirAgent::~MaildirAgent() = default;

void MaildirAgent::Deliver(DeliveryRequest request, DoneCallback done) {
  auto result = std::make_shared<DeliveryResult>();
  result->outcomes.resize(request.recipients.size());
  std::vector<WriteJob> jobs;
  for (size_t i = 0; i < request.recipients.size(); ++i) {
    const std::string& address = request.recipients[i].address;
    MailboxLookup lookup = LookupMailbox(address, options_.mailboxes);
    if (!lookup.mailbox) {
      result->outcomes[i] = Rejected(lookup.rejection);
      OUTPOST_LOG_INFO("maildir_rejected", {"id", request.message.id}, {"rcpt", address},
                       {"reply", lookup.rejection.text});
      continue;
    }
    jobs.push_back(
        WriteJob{i, std::move(*lookup.mailbox), TraceHeader(request.message.return_path, address)});
  }
  if (jobs.empty()) {
    dispatcher_.Post([done = std::move(done), result] { done(std::move(*result)); });
    return;
  }
  pool_.Submit([writer = writer_, &dispatcher = dispatcher_, jobs = std::move(jobs),
                body = request.message.body, id = request.message.id, result,
                done = std::move(done)]() mutable {
    const std::string text = body ? CrlfToLf(*body) : std::string();
    for (const WriteJob& job : jobs) {
      StatusOr<std::string> path = writer->Write(job.mailbox, job.header, text);
      if (path.ok()) {
        result->outcomes[job.index] = Delivered();
        OUTPOST_LOG_INFO("maildir_delivered", {"id", id},
                         {"mailbox", job.mailbox.local + "@" + job.mailbox.domain},
                         {"path", *path});
      } else {
        result->outcomes[job.index] = WriteFailed(path.status());
        OUTPOST_LOG_WARN("maildir_write_failed", {"id", id},
                         {"mailbox", job.mailbox.local + "@" + job.mailbox.domain},
                         {"error", path.status().ToString()});
      }
    }
    dispatcher.Post([done = std::move(done), result] { done(std::move(*result)); });
  });
}

}  // namespace outpost::transport::local
