#include "transport/tlspolicy/policy_cache.h"

#include <charconv>

#include "transport/dns/dns_message.h"

namespace outpost::transport::tlspolicy {
namespace {

constexpr std::string_view kMagic = "outpost-mta-sts-cache 1";

// Reads "<key>: <value>\n" from the front of `in`.
bool TakeField(std::string_view& in, std::string_view key, std::string_view* value) {
  size_t nl = in.find('\n');
  if (nl == std::string_view::npos) return false;
  std::string_view line = in.substr(0, nl);
  if (line.size() < key.size() + 2 || line.substr(0, key.size()) != key ||
      line.substr(key.size(), 2) != ": ") {
    return false;
  }
  *value = line.substr(key.size() + 2);
  in.remove_prefix(nl + 1);
  return true;
}

bool ParseInt(std::string_view s, int64_t* out) {
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

}  // namespace

std::string SerializeCachedMtaStsPolicy(const CachedMtaStsPolicy& entry) {
  std::string out(kMagic);
  out += "\ndomain: " + entry.domain + "\nid: " + entry.id +
         "\nfetched: " + std::to_string(entry.fetched_unix_ms) +
         "\nexpires: " + std::to_string(entry.expires_unix_ms) + "\n";
  out += FormatMtaStsPolicy(entry.policy);
  return out;
}

StatusOr<CachedMtaStsPolicy> ParseCachedMtaStsPolicy(std::string_view bytes) {
  if (bytes.substr(0, kMagic.size()) != kMagic || bytes.size() == kMagic.size() ||
      bytes[kMagic.size()] != '\n') {
    return Status::Corruption("MTA-STS cache record: unknown format");
  }
  bytes.remove_prefix(kMagic.size() + 1);
  CachedMtaStsPolicy e;
  std::string_view domain, id, fetched, expires;
  if (!TakeField(bytes, "domain", &domain) || !TakeField(bytes, "id", &id) ||
      !TakeField(bytes, "fetched", &fetched) || !TakeField(bytes, "expires", &expires)) {
    return Status::Corruption("MTA-STS cache record: missing header field");
  }
  if (domain.empty() || !ParseInt(fetched, &e.fetched_unix_ms) ||
      !ParseInt(expires, &e.expires_unix_ms)) {
    return Status::Corruption("MTA-STS cache record: bad header field");
  }
  e.domain = std::string(domain);
  e.id = std::string(id);
  auto policy = ParseMtaStsPolicy(bytes);
  if (!policy.ok()) {
    return Status::Corruption("MTA-STS cache record: " + policy.status().message());
  }
  e.policy = std::move(*policy);
  return e;
}

MtaStsPolicyCache::MtaStsPolicyCache(const Clock& clock, PolicyCacheStore* store,
                                     std::chrono::seconds refresh_after)
    : clock_(clock), store_(store), refresh_after_(refresh_after) {}

bool MtaStsPolicyCache::Expired(const CachedMtaStsPolicy& e) const {
  return clock_.NowUnixMs() >= e.expires_unix_ms;
}

Status MtaStsPolicyCache::Load() {
  if (store_ == nullptr) return Status::Ok();
  OUTPOST_ASSIGN_OR_RETURN(auto loaded, store_->LoadAll());
  for (auto& e : loaded) {
    if (Expired(e)) continue;
    std::string key = dns::NormalizeDnsName(e.domain);
    entries_[key] = std::move(e);
  }
  return Status::Ok();
}

std::optional<CachedMtaStsPolicy> MtaStsPolicyCache::Get(std::string_view domain) const {
  auto it = entries_.find(dns::NormalizeDnsName(domain));
  if (it == entries_.end() || Expired(it->second)) return std::nullopt;
  return it->second;
}

Status MtaStsPolicyCache::Put(std::string_view domain, std::string_view id,
                              const MtaStsPolicy& policy) {
  CachedMtaStsPolicy e;
  e.domain = dns::NormalizeDnsName(domain);
  e.id = std::string(id);
  e.policy = policy;
  e.fetched_unix_ms = clock_.NowUnixMs();
  e.expires_unix_ms =
      e.fetched_unix_ms + std::chrono::duration_cast<Millis>(policy.max_age).count();
  entries_[e.domain] = e;
  if (store_ == nullptr) return Status::Ok();
  return store_->Save(e);
}

bool MtaStsPolicyCache::NeedsFetch(std::string_view domain,
                                   const std::optional<std::string>& txt_id) const {
  auto cached = Get(domain);
  if (!cached) return true;
  if (!txt_id) return false;  // keep applying the cached policy (RFC 8461 §3.3)
  if (*txt_id != cached->id) return true;
  return clock_.NowUnixMs() - cached->fetched_unix_ms >=
         std::chrono::duration_cast<Millis>(refresh_after_).count();
}

Status MtaStsPolicyCache::Erase(std::string_view domain) {
  std::string key = dns::NormalizeDnsName(domain);
  entries_.erase(key);
  if (store_ == nullptr) return Status::Ok();
  return store_->Erase(key);
}

std::vector<std::string> MtaStsPolicyCache::DueForRefresh() const {
  std::vector<std::string> due;
  int64_t now = clock_.NowUnixMs();
  int64_t after = std::chrono::duration_cast<Millis>(refresh_after_).count();
  for (const auto& [domain, e] : entries_) {
    if (now - e.fetched_unix_ms >= after) due.push_back(domain);
  }
  return due;
}

}  // namespace outpost::transport::tlspolicy
