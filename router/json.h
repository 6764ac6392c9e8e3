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

namespace outpost::router::rj {

// RapidJSON's internal Stack computes `nullptr + n` on first use (an upstream bug UBSan
// reports). The router's TUs are built without that one check (outpost_rapidjson in
// router/CMakeLists.txt), but template code is merged across the whole program, so the
// router's documents, buffers and writers use their own allocator type: their Stack
// instantiations are then distinct from those of other code using RapidJSON.
struct StackAllocator : CrtAllocator {};

// Declared here, these hide the RapidJSON names of the same spelling for rj:: lookups.
using Document = GenericDocument<UTF8<>, MemoryPoolAllocator<>, StackAllocator>;
using StringBuffer = GenericStringBuffer<UTF8<>, StackAllocator>;
using StringWriter = Writer<StringBuffer, UTF8<>, UTF8<>, StackAllocator>;
using PrettyStringWriter = PrettyWriter<StringBuffer, UTF8<>, UTF8<>, StackAllocator>;

}  // namespace outpost::router::rj
