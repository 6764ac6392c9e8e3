#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/libevent_dispatcher.h"
#include "common/status.h"
#include "queue/queue_store.h"
#include "router/config.h"
#include "router/router.h"
#include "router/secret_resolver.h"
#include "scheduler/scheduler.h"
#include "tools/outpostd/admin_server.h"
#include "tools/outpostd/data_dir_lock.h"
#include "tools/outpostd/ingest_loops.h"
#include "tools/outpostd/mx_agent.h"
#include "tools/outpostd/queue_ingest_sink.h"
#include "tools/outpostd/reloadable_agent.h"
#include "tools/outpostd/resolver_host_lookup.h"
#include "tools/outpostd/retention_purger.h"
#include "tools/outpostd/signal_watcher.h"
#include "tools/outpostd/tls_policy_services.h"
#include "transport/dns/cares_resolver.h"
#include "transport/dns/mx_resolver.h"
#include "transport/local/maildir_agent.h"
#include "transport/smtp/smtp_deliverer.h"
#include "transport/smtp/smtp_relay_agent.h"
#include "transport/smtp/tls_client.h"

namespace outpost::daemon {

struct DaemonOptions {
  // Event-loop threads for the SMTP listeners' sessions (IngestLoops); 0 = the main loop.
  size_t ingest_threads = 1;
};

// The composition root of `outpostd` (DESIGN.md §1, §7): owns and wires the data-dir lock,
// the store, the router, the delivery agents (Maildir, Mx, Relay), the SMTP listeners, the
// admin server seam, the retention purge and the signal handling. Ingest goes listener ->
// QueueIngestSink -> Scheduler::Submit (policy per recipient) -> QueueStore (synced) -> 250.
//
// Lifecycle, all on the dispatcher's loop thread:
//   auto d = Daemon::Create(config_path, dispatcher);  // loads, locks, opens, binds
//   d->Start();                                        // signals, purge, admin
//   dispatcher.Run();                                  // until Shutdown() exits the loop
// SIGTERM/SIGINT -> Shutdown(): stop accepting (sessions in progress may finish their
// message), drain the scheduler (deliveries in flight end and their outcomes are written),
// let every pending durable write finish, then exit the loop (exit status 0).
// The store gives up on a write error (storage::StoreOptions::on_unrecoverable) -> the same
// shutdown, then failure() is that error and outpostd exits 1 so a supervisor restarts it.
// SIGHUP -> Reload(): a valid config replaces the router and retention settings; an invalid
// one is logged with all its errors and the old one is kept.
class Daemon {
 public:
  // Every failure is a clear message for stderr: config errors (all of them), "another
  // outpostd is running on <dataDir> (pid N)", store open errors, bind errors.
  static StatusOr<std::unique_ptr<Daemon>> Create(std::string config_path,
                                                  LibeventDispatcher& dispatcher,
                                                  DaemonOptions options = {});
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  Status Start();
  void Reload();
  void Shutdown();
  // OK, or why the daemon stopped on its own (the store failed for good): exit non-zero.
  const Status& failure() const { return failure_; }

  // The bound ports of the listeners, in config order (useful with port 0).
  std::vector<int> listener_ports() const;
  int admin_port() const { return admin_->port(); }
  const router::Config& config() const { return router_->config(); }
  queue::QueueStore& store() { return *store_; }
  scheduler::Scheduler& scheduler() { return *scheduler_; }
  uint64_t reloads_for_test() const { return reloads_; }

 private:
  Daemon(std::string config_path, LibeventDispatcher& dispatcher,
         std::shared_ptr<const router::Config> config, DaemonOptions options);
  Status Open();
  Status OpenTransports();
  Status OpenListeners();
  // Exits the loop once no durable write is pending any more (or the deadline passed).
  void ExitWhenStoreIdle();
  void FailStop(const Status& why);

  const std::string config_path_;
  LibeventDispatcher& dispatcher_;
  const DaemonOptions options_;
  router::SystemSecretResolver secrets_;
  std::shared_ptr<const router::Router> router_;
  std::string hostname_;

  // Declaration order is construction order; destruction runs backwards, so everything that
  // calls into the store or the transports goes away before them.
  std::unique_ptr<DataDirLock> lock_;
  std::unique_ptr<queue::QueueStore> store_;
  std::unique_ptr<transport::dns::CaresResolver> resolver_;
  std::unique_ptr<transport::dns::MxResolver> mx_planner_;
  std::unique_ptr<ResolverHostLookup> host_lookup_;
  std::unique_ptr<TlsPolicyServices> tls_policy_;  // DANE, MTA-STS, TLS-RPT (Mx routes)
  std::unique_ptr<transport::smtp::TlsClientContext> tls_;
  std::unique_ptr<transport::smtp::SmtpDeliverer> deliverer_;
  // The Maildir agent is rebuilt on SIGHUP (local domains, users and root may change).
  std::unique_ptr<ReloadableAgent> local_agent_;
  std::unique_ptr<MxAgent> mx_agent_;
  std::unique_ptr<transport::smtp::SmtpRelayAgent> relay_agent_;
  std::unique_ptr<scheduler::Scheduler> scheduler_;
  std::unique_ptr<QueueIngestSink> ingest_;
  // The listeners and their sessions, on ingest loop threads; stopped first in ~Daemon.
  std::unique_ptr<IngestLoops> ingest_loops_;
  std::unique_ptr<AdminServer> admin_;
  std::unique_ptr<RetentionPurger> purger_;
  std::unique_ptr<SignalWatcher> signals_;
  std::unique_ptr<Timer> shutdown_timer_;
  bool shutting_down_ = false;
  Status failure_;
  // Posted from the store's writer thread: runs only while this daemon lives.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  uint64_t reloads_ = 0;
};

}  // namespace outpost::daemon
