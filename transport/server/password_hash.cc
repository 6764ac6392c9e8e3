#include "transport/server/password_hash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <vector>

#include "transport/server/base64.h"

namespace outpost::smtp_server {
namespace {

constexpr std::string_view kPrefix = "$pbkdf2-sha256$";
constexpr size_t kSaltBytes = 16;
constexpr size_t kHashBytes = 32;
constexpr int kMaxIterations = 10000000;

struct Parsed {
  int iterations = 0;
  std::string salt;
  std::string hash;
};

StatusOr<Parsed> ParseHash(std::string_view s) {
  if (s.substr(0, kPrefix.size()) != kPrefix) {
    return Status::InvalidArgument("password hash must start with $pbkdf2-sha256$");
  }
  s.remove_prefix(kPrefix.size());
  size_t d1 = s.find('$');
  size_t d2 = d1 == s.npos ? s.npos : s.find('$', d1 + 1);
  if (d2 == s.npos) return Status::InvalidArgument("password hash needs iterations$salt$hash");
  std::string_view iters = s.substr(0, d1);
  Parsed p;
  if (iters.empty() || iters.size() > 8) return Status::InvalidArgument("bad iteration count");
  for (char c : iters) {
    if (c < '0' || c > '9') return Status::InvalidArgument("bad iteration count");
    p.iterations = p.iterations * 10 + (c - '0');
  }
  if (p.iterations < 1 || p.iterations > kMaxIterations) {
    return Status::InvalidArgument("iteration count out of range");
  }
  auto salt = Base64Decode(s.substr(d1 + 1, d2 - d1 - 1));
  auto hash = Base64Decode(s.substr(d2 + 1));
  if (!salt.ok() || salt->empty()) return Status::InvalidArgument("bad salt in password hash");
  if (!hash.ok() || hash->size() != kHashBytes) {
    return Status::InvalidArgument("bad hash in password hash");
  }
  p.salt = std::move(*salt);
  p.hash = std::move(*hash);
  return p;
}

StatusOr<std::string> Derive(std::string_view password, std::string_view salt, int iterations) {
  std::string out(kHashBytes, '\0');
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt.data()),
                        static_cast<int>(salt.size()), iterations, EVP_sha256(),
                        static_cast<int>(out.size()),
                        reinterpret_cast<unsigned char*>(out.data())) != 1) {
    return Status::Internal("PBKDF2 failed");
  }
  return out;
}

}  // namespace

StatusOr<std::string> MakePasswordHash(std::string_view password, int iterations) {
  if (iterations < 1 || iterations > kMaxIterations) {
    return Status::InvalidArgument("iteration count out of range");
  }
  std::string salt(kSaltBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), kSaltBytes) != 1) {
    return Status::Internal("no randomness for the salt");
  }
  OUTPOST_ASSIGN_OR_RETURN(std::string hash, Derive(password, salt, iterations));
  return std::string(kPrefix) + std::to_string(iterations) + "$" + Base64Encode(salt) + "$" +
         Base64Encode(hash);
}

StatusOr<bool> VerifyPassword(std::string_view password, std::string_view hash) {
  OUTPOST_ASSIGN_OR_RETURN(Parsed p, ParseHash(hash));
  OUTPOST_ASSIGN_OR_RETURN(std::string derived, Derive(password, p.salt, p.iterations));
  return CRYPTO_memcmp(derived.data(), p.hash.data(), kHashBytes) == 0;
}

Status ValidatePasswordHash(std::string_view hash) { return ParseHash(hash).status(); }

}  // namespace outpost::smtp_server
