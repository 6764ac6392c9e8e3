#pragma once

// RapidJSON as shipped with cereal. Upstream cereal bundles it as
// <cereal/external/rapidjson/...> in namespace CEREAL_RAPIDJSON_NAMESPACE; Debian's
// libcereal-dev (+dfsg) strips that copy and uses the system <rapidjson/...> instead.
#if __has_include(<cereal/external/rapidjson/document.h>)
#include <cereal/external/rapidjson/document.h>
#include <cereal/external/rapidjson/error/en.h>
#include <cereal/external/rapidjson/prettywriter.h>
#include <cereal/external/rapidjson/stringbuffer.h>
#include <cereal/external/rapidjson/writer.h>
namespace outpost::router::rj {
using namespace CEREAL_RAPIDJSON_NAMESPACE;  // NOLINT
}
#else
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
namespace outpost::router::rj {
using namespace RAPIDJSON_NAMESPACE;  // NOLINT
}
#endif
