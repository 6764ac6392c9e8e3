#include "queue/record_filter.h"

#include <strings.h>

namespace outpost::queue {

bool MessageMatches(const Filter& f, const proto::MessageRecord& m) {
  if (f.sender && m.return_path() != *f.sender) return false;
  if (f.received_before_unix_ms > 0 && m.received_unix_ms() >= f.received_before_unix_ms) {
    return false;
  }
  return true;
}

bool RecipientMatches(const Filter& f, const proto::RecipientRecord& r) {
  if (f.state && r.state() != static_cast<int>(*f.state)) return false;
  if (!f.rcpt_domain.empty() &&
      (f.rcpt_domain.size() != r.domain().size() ||
       strncasecmp(f.rcpt_domain.data(), r.domain().data(), f.rcpt_domain.size()) != 0)) {
    return false;
  }
  if (!f.virtual_queue.empty() && r.virtual_queue() != f.virtual_queue) return false;
  if (!f.error_class.empty() && r.last_error() != f.error_class) return false;
  if (f.failed_since_unix_ms > 0 && r.failed_unix_ms() < f.failed_since_unix_ms) return false;
  if (f.failed_until_unix_ms > 0 &&
      (r.failed_unix_ms() <= 0 || r.failed_unix_ms() > f.failed_until_unix_ms)) {
    return false;
  }
  return true;
}

}  // namespace outpost::queue
