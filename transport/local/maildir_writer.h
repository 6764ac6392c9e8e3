#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/status.h"
#include "transport/local/mailbox_address.h"

namespace outpost::transport::local {

// Writes messages into Maildirs under `<root>/<domain>/<local>/` the crash-safe way: create
// tmp/<unique>, write, fsync, rename to new/<unique>, fsync new/. Directories (tmp, new, cur
// and the parents below the root) are created as needed and their parents fsynced. The root
// itself must exist. BLOCKING: call it from a worker thread, never on the event loop.
// Thread-safe.
class MaildirWriter {
 public:
  // `hostname` goes into file names (RFC-ish Maildir "time.MusecPpidQn.host"); '/' and ':'
  // in it are escaped as Maildir requires.
  MaildirWriter(std::string root, std::string hostname, const Clock& clock);

  // Writes `header` then `body` as one new message; returns the path of the file in new/.
  // NoSpace for ENOSPC/EDQUOT, IoError for every other failure (the message says which path
  // and errno). The temporary file is removed on failure.
  StatusOr<std::string> Write(const MaildirMailbox& mailbox, std::string_view header,
                              std::string_view body) const;

  // "<sec>.M<usec>P<pid>Q<n>.<host>", unique within this process (n is a process-wide counter).
  std::string UniqueName() const;

  const std::string& root() const { return root_; }

 private:
  std::string root_;
  std::string hostname_;
  const Clock& clock_;
};

// Converts the stored CRLF message to the LF line endings Maildir readers expect (bare CRs
// are kept).
std::string CrlfToLf(std::string_view message);

}  // namespace outpost::transport::local
