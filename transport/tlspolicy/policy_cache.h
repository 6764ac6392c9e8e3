#pragma once

// The MTA-STS policy cache (RFC 8461 §3.3, §5.1). A cached, unexpired policy is applied even
// when the live one cannot be fetched, so the cache is security state: it is written through to
// a PolicyCacheStore (the daemon backs it with RocksDB) and reloaded at start.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "transport/tlspolicy/mta_sts.h"

namespace outpost::transport::tlspolicy {

struct CachedMtaStsPolicy {
  std::string domain;  // the policy domain (recipient domain), normalized
  std::string id;      // the TXT id the policy was fetched under
  MtaStsPolicy policy;
  int64_t fetched_unix_ms = 0;  // last successful fetch (or confirmation that the id is unchanged)
  int64_t expires_unix_ms = 0;  // fetched + max_age
  friend bool operator==(const CachedMtaStsPolicy&, const CachedMtaStsPolicy&) = default;
};

// A small text form, one record per domain, stable across versions (first line names the
// format). ParseCachedMtaStsPolicy(SerializeCachedMtaStsPolicy(p)) == p; anything else that is
// not a well-formed record is Corruption.
std::string SerializeCachedMtaStsPolicy(const CachedMtaStsPolicy& entry);
StatusOr<CachedMtaStsPolicy> ParseCachedMtaStsPolicy(std::string_view bytes);

// Where cached policies persist. Called on the loop thread, so an implementation must not wait
// for an fsync (a non-synced write, or a hand-off to a writer thread, is right: losing the last
// update in a crash only costs a refetch).
class PolicyCacheStore {
 public:
  virtual ~PolicyCacheStore() = default;
  virtual Status Save(const CachedMtaStsPolicy& entry) = 0;
  virtual Status Erase(std::string_view domain) = 0;
  // Every stored record; corrupt ones are skipped by the store (and reported there).
  virtual StatusOr<std::vector<CachedMtaStsPolicy>> LoadAll() = 0;
};

// Policies by domain with max_age expiry and a refresh schedule. Loop thread only (not
// thread-safe). `store` may be null (memory only); it is not owned and must outlive this.
class MtaStsPolicyCache {
 public:
  // Policies older than this are refetched (when their TXT id is looked up again) even when the
  // id is unchanged, so max_age keeps being extended by live fetches (RFC 8461 §3.3: "proactively
  // refresh", e.g. daily).
  static constexpr std::chrono::hours kDefaultRefreshAfter{24};

  MtaStsPolicyCache(const Clock& clock, PolicyCacheStore* store,
                    std::chrono::seconds refresh_after = kDefaultRefreshAfter);

  // Loads the store's records, dropping expired ones. Returns the store's error, if any.
  Status Load();

  // The unexpired policy for `domain`, if any.
  std::optional<CachedMtaStsPolicy> Get(std::string_view domain) const;

  // Stores a freshly fetched policy under TXT id `id`, expiring after its max_age. A store
  // failure is returned but the in-memory entry is kept (the policy is still right).
  Status Put(std::string_view domain, std::string_view id, const MtaStsPolicy& policy);

  // Whether a fetch is needed given the live TXT id (nullopt when the TXT lookup failed): no
  // entry, a changed id, or an entry older than refresh_after. A failed TXT lookup never forces
  // a fetch while a cached policy is unexpired.
  bool NeedsFetch(std::string_view domain, const std::optional<std::string>& txt_id) const;

  // Drops `domain` (e.g. the domain published mode none and removed its TXT record).
  Status Erase(std::string_view domain);

  // Domains whose entries are older than refresh_after, for a proactive refresh timer.
  std::vector<std::string> DueForRefresh() const;

  size_t size() const { return entries_.size(); }

 private:
  bool Expired(const CachedMtaStsPolicy& e) const;

  const Clock& clock_;
  PolicyCacheStore* store_;
  std::chrono::seconds refresh_after_;
  std::map<std::string, CachedMtaStsPolicy, std::less<>> entries_;
};

}  // namespace outpost::transport::tlspolicy
