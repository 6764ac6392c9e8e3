#pragma once

#include <memory>
#include <string>

#include "common/dispatcher.h"
#include "transport/api/delivery.h"
#include "transport/local/blocking_pool.h"
#include "transport/local/mailbox_address.h"
#include "transport/local/maildir_writer.h"

namespace outpost::transport::local {

struct MaildirAgentOptions {
  std::string maildir_root;      // `local.maildirRoot`; must exist
  LocalMailboxPolicy mailboxes;  // `localDomains` and `local.users`
  std::string hostname;          // `server.hostname`, used in file names
  size_t threads = 1;            // file-writing threads
};

// The DeliveryAgent of Local routes. Each recipient gets its own file in its Maildir, with
// "Return-Path: <sender>" and "Delivered-To: <rcpt>" prepended and LF line endings.
// Address checks are done on the loop thread (permanent 5.1.1 / 5.1.2 / 5.1.3); the writes
// and fsyncs run on a BlockingPool and the result is posted back. A write failure is a
// temporary failure with ErrorClass::kIo (451 4.3.0, or 452 4.3.1 when the disk is full).
// Success is final delivery (final_delivery = true, reply 250 2.0.0).
class MaildirAgent final : public DeliveryAgent {
 public:
  // `dispatcher` is not owned and must outlive the agent.
  MaildirAgent(Dispatcher& dispatcher, MaildirAgentOptions options);
  // Waits for writes already started; their results are still posted to the dispatcher.
  ~MaildirAgent() override;

  // Loop thread. `done` runs exactly once on the loop thread, always posted.
  void Deliver(DeliveryRequest request, DoneCallback done) override;

 private:
  Dispatcher& dispatcher_;
  const MaildirAgentOptions options_;
  std::shared_ptr<const MaildirWriter> writer_;
  BlockingPool pool_;  // last member: joined first, while the writer still exists
};

}  // namespace outpost::transport::local
