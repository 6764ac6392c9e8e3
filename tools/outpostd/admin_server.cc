#include "tools/outpostd/admin_server.h"

#include "common/logging.h"

namespace outpost::daemon {

Status AdminServer::Start() {
  if (config_.bind.empty()) return Status::InvalidArgument("admin.bind: empty");
  if (!config_.token.present() || config_.token.value.empty()) {
    OUTPOST_LOG_ERROR("admin.disabled", {"bind", config_.bind},
                      {"reason", "admin.token is not configured"},
                      {"fix",
                       "set admin.token, e.g. {\"@type\": \"EnvironmentVariable\", "
                       "\"variable\": \"OUTPOST_ADMIN_TOKEN\"}, and restart"});
    return Status::Ok();
  }
  if (scheduler_ == nullptr) {
    OUTPOST_LOG_ERROR("admin.disabled", {"bind", config_.bind}, {"reason", "no scheduler"});
    return Status::Ok();
  }
  admin::AdminApiOptions ao;
  ao.token = config_.token.value;
  api_ = std::make_unique<admin::AdminApi>(dispatcher_, store_, *scheduler_, ao);
  admin::AdminHttpOptions ho;
  ho.bind = config_.bind;
  // Room for a maximal message escaped in JSON (every CRLF becomes \r\n, 4 bytes).
  ho.max_body_bytes = 2 * scheduler_->router()->config().queue.max_message_size + (1 << 20);
  auto http = admin::AdminHttpServer::Start(dispatcher_, *api_, ho);
  if (!http.ok()) {
    api_.reset();
    return http.status().Annotate("admin API");
  }
  http_ = std::move(*http);
  return Status::Ok();
}

void AdminServer::Stop() {
  http_.reset();
  api_.reset();
}

void AdminServer::Reconfigure(const router::AdminConfig& config) {
  if (config.bind != config_.bind) {
    OUTPOST_LOG_WARN("config.reload_needs_restart", {"field", "admin.bind"});
  }
  const bool had_token = config_.token.present();
  config_ = config;
  if (api_) {
    // An empty token authenticates nobody (the API stays up, every request gets 401).
    api_->SetToken(config_.token.present() ? config_.token.value : "");
  } else if (!had_token && config_.token.present()) {
    OUTPOST_LOG_WARN("config.reload_needs_restart", {"field", "admin.token"},
                     {"reason", "the admin API was not started without a token"});
  }
}

}  // namespace outpost::daemon
