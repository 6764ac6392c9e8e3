#include "tools/outpostd/admin_server.h"

#include "common/logging.h"

namespace outpost::daemon {

Status AdminServer::Start() {
  if (config_.bind.empty()) return Status::InvalidArgument("admin.bind: empty");
  OUTPOST_LOG_INFO("admin.not_served", {"bind", config_.bind},
                   {"token", config_.token.present() ? "configured" : "none"},
                   {"reason", "the admin API is not implemented in this build"});
  return Status::Ok();
}

void AdminServer::Stop() {}

}  // namespace outpost::daemon
