#include "tools/outpostd/daemon.h"

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <random>
#include <utility>

#include "common/logging.h"
#include "router/config_loader.h"
#include "tools/outpostd/config_mapping.h"

namespace outpost::daemon {
namespace {

// How long a drain may take before the daemon exits anyway (in-flight deliveries without an
// outcome are simply due again at the next start: at-least-once, DESIGN.md §2).
constexpr Millis kDrainDeadline{std::chrono::seconds(30)};
// After the drain: how long the last outcome writes may take.
constexpr Millis kStoreIdleDeadline{std::chrono::seconds(10)};
constexpr Millis kIdlePoll{20};

// How often the retention purge runs: a quarter of the shortest retention, between 1 s and
// 1 min, so short test retentions are honoured and long ones cost one small scan a minute.
Millis PurgeIntervalFor(const router::QueueConfig& q) {
  Millis shortest = std::min(q.failed_retention, q.completed_retention);
  return std::clamp<Millis>(shortest / 4, Millis(1000), Millis(60000));
}

// Logs a multi-line error (the config loader lists one error per line) one line per error.
void LogEachLine(std::string_view event, const Status& st) {
  std::string_view rest = st.message();
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    if (!line.empty()) OUTPOST_LOG_ERROR(event, {"error", line});
    if (nl == std::string_view::npos) break;
    rest.remove_prefix(nl + 1);
  }
}

}  // namespace

StatusOr<std::unique_ptr<Daemon>> Daemon::Create(std::string config_path,
                                                 LibeventDispatcher& dispatcher,
                                                 DaemonOptions options) {
  router::SystemSecretResolver secrets;
  auto config = router::LoadConfigFile(config_path, &secrets);
  if (!config.ok()) return config.status().Annotate("config " + config_path);
  const router::Config& c = **config;
  if (c.server.data_dir.empty()) {
    return Status::InvalidArgument("config " + config_path + ": server.dataDir is required");
  }
  if (c.listeners.empty()) {
    return Status::InvalidArgument("config " + config_path + ": at least one listener is required");
  }
  std::unique_ptr<Daemon> d(new Daemon(std::move(config_path), dispatcher, std::move(*config), options));
  OUTPOST_RETURN_IF_ERROR(d->Open());
  return d;
}

Daemon::Daemon(std::string config_path, LibeventDispatcher& dispatcher,
               std::shared_ptr<const router::Config> config, DaemonOptions options)
    : config_path_(std::move(config_path)),
      dispatcher_(dispatcher),
      options_(options),
      router_(std::make_shared<const router::Router>(std::move(config))) {
  hostname_ = ResolveHostname(router_->config());
}

Daemon::~Daemon() {
  // Sessions on the ingest threads call into the sink, the scheduler and the store: end those
  // threads before anything they use goes away.
  if (ingest_loops_) ingest_loops_->Stop();
}

Status Daemon::Open() {
  const router::Config& c = router_->config();
  OUTPOST_ASSIGN_OR_RETURN(lock_, DataDirLock::Acquire(c.server.data_dir));
  queue::QueueStoreOptions qo;
  qo.store.path = c.server.data_dir;
  qo.store.min_free_space_bytes = c.queue.min_free_space;
  qo.store.on_unrecoverable = [this, alive = std::weak_ptr<bool>(alive_)](const Status& why) {
    dispatcher_.Post([this, alive, why]() {
      if (alive.lock()) FailStop(why);
    });
  };
  auto store = queue::QueueStore::Open(qo, dispatcher_);
  if (!store.ok()) return store.status().Annotate("open queue store in " + c.server.data_dir);
  store_ = std::move(*store);
  OUTPOST_RETURN_IF_ERROR(OpenTransports());
  scheduler::AgentMap agents = {{router::Route::Kind::kLocal, local_agent_.get()},
                                {router::Route::Kind::kMx, mx_agent_.get()},
                                {router::Route::Kind::kRelay, relay_agent_.get()}};
  scheduler::SchedulerOptions so;
  so.fallback_hostname = hostname_;
  scheduler_ = std::make_unique<scheduler::Scheduler>(dispatcher_, *store_, router_,
                                                      std::move(agents), std::move(so));
  ingest_ = std::make_unique<QueueIngestSink>(
      *store_, [this](queue::NewMessage m, QueueIngestSink::SubmitDone done) {
        scheduler_->Submit(std::move(m), std::move(done));
      });
  OUTPOST_RETURN_IF_ERROR(OpenListeners());
  admin_ = std::make_unique<AdminServer>(dispatcher_, c.admin, *store_, scheduler_.get());
  RetentionPurger::Options po;
  po.failed_retention = c.queue.failed_retention;
  po.completed_retention = c.queue.completed_retention;
  po.interval = PurgeIntervalFor(c.queue);
  purger_ = std::make_unique<RetentionPurger>(dispatcher_, *store_, po);
  return Status::Ok();
}

Status Daemon::OpenTransports() {
  const router::Config& c = router_->config();
  transport::dns::CaresResolverOptions ro;
  ro.servers = c.dns.servers;
  ro.timeout = c.dns.timeout;
  auto resolver = transport::dns::CaresResolver::Create(dispatcher_, ro);
  if (!resolver.ok()) return resolver.status().Annotate("dns");
  resolver_ = std::move(*resolver);
  mx_planner_ = std::make_unique<transport::dns::MxResolver>(*resolver_, std::random_device{}());
  host_lookup_ = std::make_unique<ResolverHostLookup>(dispatcher_, *resolver_);
  auto tls = transport::smtp::TlsClientContext::Create({c.tls_policy.ca_file});
  if (!tls.ok()) return tls.status().Annotate("tlsPolicy.caFile");
  tls_ = std::move(*tls);
  auto tls_policy = TlsPolicyServices::Create(
      dispatcher_, *resolver_, store_->store(), c.tls_policy, hostname_,
      [this](queue::NewMessage m, std::function<void(StatusOr<uint64_t>)> done) {
        scheduler_->Submit(std::move(m), std::move(done));
      });
  if (!tls_policy.ok()) return tls_policy.status().Annotate("tls policy");
  tls_policy_ = std::move(*tls_policy);
  transport::smtp::SmtpDelivererOptions so;
  so.mx_concurrency = c.queue.mx_concurrency;
  so.default_ehlo_hostname = hostname_;
  so.tls_policy = &tls_policy_->evaluator();
  deliverer_ =
      std::make_unique<transport::smtp::SmtpDeliverer>(dispatcher_, *tls_, dispatcher_.clock(), so);
  auto maildir = MaildirOptionsFor(c, hostname_);
  std::error_code ec;
  std::filesystem::create_directories(maildir.maildir_root, ec);
  if (ec) return Status::IoError("local.maildirRoot " + maildir.maildir_root + ": " + ec.message());
  local_agent_ = std::make_unique<ReloadableAgent>(
      dispatcher_,
      std::make_unique<transport::local::MaildirAgent>(dispatcher_, std::move(maildir)));
  mx_agent_ = std::make_unique<MxAgent>(*mx_planner_, *deliverer_,
                                        MxAgent::Options{SelfIdentityFor(c, hostname_), 25});
  relay_agent_ = std::make_unique<transport::smtp::SmtpRelayAgent>(*deliverer_, *host_lookup_);
  return Status::Ok();
}

Status Daemon::OpenListeners() {
  const router::Config& c = router_->config();
  ingest_loops_ = std::make_unique<IngestLoops>(options_.ingest_threads, dispatcher_, *ingest_);
  for (const auto& lc : c.listeners) {
    Status st = ingest_loops_->AddListener(ListenerOptionsFor(c, lc, hostname_));
    if (!st.ok()) return st.Annotate("listeners." + lc.name);
    OUTPOST_LOG_INFO("listener.started", {"name", lc.name}, {"bind", lc.bind},
                     {"port", ingest_loops_->ports().back()},
                     {"ingest_threads", options_.ingest_threads});
  }
  return Status::Ok();
}

Status Daemon::Start() {
  signals_ = std::make_unique<SignalWatcher>(dispatcher_);
  OUTPOST_RETURN_IF_ERROR(signals_->Watch(SIGTERM, [this]() { Shutdown(); }));
  OUTPOST_RETURN_IF_ERROR(signals_->Watch(SIGINT, [this]() { Shutdown(); }));
  OUTPOST_RETURN_IF_ERROR(signals_->Watch(SIGHUP, [this]() { Reload(); }));
  // A client vanishing mid-write must not kill the daemon.
  std::signal(SIGPIPE, SIG_IGN);
  OUTPOST_RETURN_IF_ERROR(admin_->Start());
  ingest_loops_->Start();
  purger_->Start(PurgeIntervalFor(router_->config().queue));
  tls_policy_->Start();
  scheduler_->Start();
  OUTPOST_LOG_INFO("outpostd.started", {"config", config_path_}, {"hostname", hostname_},
                   {"data_dir", router_->config().server.data_dir},
                   {"last_id", storage::FormatMessageId(store_->last_issued_id())});
  return Status::Ok();
}

void Daemon::Reload() {
  if (shutting_down_) return;
  auto fresh = router::LoadConfigFile(config_path_, &secrets_);
  if (!fresh.ok()) {
    OUTPOST_LOG_ERROR("config.reload_rejected", {"config", config_path_},
                      {"action", "keeping the running configuration"});
    LogEachLine("config.reload_error", fresh.status());
    return;
  }
  const router::Config& old = router_->config();
  const router::Config& c = **fresh;
  if (c.server.data_dir != old.server.data_dir) {
    OUTPOST_LOG_WARN("config.reload_needs_restart", {"field", "server.dataDir"});
  }
  if (c.listeners.size() != old.listeners.size()) {
    OUTPOST_LOG_WARN("config.reload_needs_restart", {"field", "listeners"});
  } else {
    for (size_t i = 0; i < c.listeners.size(); ++i) {
      if (c.listeners[i].bind != old.listeners[i].bind) {
        OUTPOST_LOG_WARN("config.reload_needs_restart", {"field", "listeners.bind"});
      }
    }
  }
  if (!(c.tls_policy == old.tls_policy)) {
    OUTPOST_LOG_WARN("config.reload_needs_restart", {"field", "tlsPolicy"});
  }
  if (c.local_domains != old.local_domains || c.local.users != old.local.users) {
    OUTPOST_LOG_WARN("config.reload_needs_restart", {"field", "localDomains/local.users"},
                     {"scope", "the listeners' recipient policy; delivery uses the new values"});
  }
  auto maildir = MaildirOptionsFor(c, hostname_);
  std::error_code ec;
  std::filesystem::create_directories(maildir.maildir_root, ec);
  if (ec) {
    OUTPOST_LOG_ERROR("config.reload_rejected", {"config", config_path_},
                      {"error", "local.maildirRoot " + maildir.maildir_root + ": " + ec.message()});
    return;
  }
  local_agent_->Replace(
      std::make_unique<transport::local::MaildirAgent>(dispatcher_, std::move(maildir)));
  router_ = std::make_shared<const router::Router>(std::move(*fresh));
  scheduler_->SetRouter(router_);
  purger_->SetRetention(c.queue.failed_retention, c.queue.completed_retention,
                        PurgeIntervalFor(c.queue));
  admin_->Reconfigure(c.admin);
  ++reloads_;
  OUTPOST_LOG_INFO("config.reloaded", {"config", config_path_}, {"routes", c.routes.size()});
}

void Daemon::Shutdown() {
  if (shutting_down_) return;
  shutting_down_ = true;
  OUTPOST_LOG_INFO("outpostd.stopping", {"listeners", ingest_loops_->ports().size()},
                   {"in_flight", scheduler_->in_flight_transactions()});
  // Stop accepting. Messages already submitted finish (their 250 follows the synced write as
  // always); a session still open answers any further message 451 (the client retries later
  // or elsewhere) instead of storing it while the daemon may exit before its 250 is sent.
  // The listeners themselves are destroyed with the daemon.
  ingest_loops_->StopAccepting();
  ingest_loops_->RefuseSubmissions();
  admin_->Stop();
  scheduler_->Drain(kDrainDeadline, [this](bool clean) {
    OUTPOST_LOG_INFO("outpostd.drained", {"clean", clean ? "yes" : "no"});
    ExitWhenStoreIdle();
  });
}

void Daemon::FailStop(const Status& why) {
  OUTPOST_LOG_ERROR("outpostd.store_failed", {"error", why.ToString()},
                    {"action", "stopping with exit status 1; a restart replays the WAL"});
  failure_ = why;
  Shutdown();
}

void Daemon::ExitWhenStoreIdle() {
  auto started = dispatcher_.clock().MonotonicNow();
  shutdown_timer_ = dispatcher_.CreateTimer([this, started]() {
    bool idle = store_->pending_operations() == 0 && scheduler_->pending_writes() == 0 &&
                ingest_loops_->in_flight_submissions() == 0;
    bool late = dispatcher_.clock().MonotonicNow() - started > kStoreIdleDeadline;
    if (!idle && !late) {
      shutdown_timer_->Enable(kIdlePoll);
      return;
    }
    if (!idle && ingest_loops_->in_flight_submissions() > 0) {
      // Writes that did not complete within the deadline (a stalled disk) still finish when
      // the store closes, but their 250s will never be sent: the clients will send those
      // messages again. Accepted mail is not lost; it may be delivered twice.
      OUTPOST_LOG_ERROR("outpostd.stop_unanswered",
                        {"submissions", ingest_loops_->in_flight_submissions()},
                        {"effect", "stored without a 250 reply: possible duplicates"});
    }
    OUTPOST_LOG_INFO("outpostd.stopped", {"store_idle", idle ? "yes" : "no"});
    dispatcher_.Exit();
  });
  shutdown_timer_->Enable(Millis(0));
}

std::vector<int> Daemon::listener_ports() const { return ingest_loops_->ports(); }

}  // namespace outpost::daemon
