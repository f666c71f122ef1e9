// Dropping root after the sockets are bound: setgroups/setgid/setuid through libcap-ng, keeping
// only the capabilities the engine still needs.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace etherpath::pkthere {

// Switches to `user` (and `group`, else the user's primary group), clearing supplementary
// groups and the bounding set, and keeps `keep` (CAP_* numbers) effective and permitted. Call
// before starting threads: capabilities are per thread, and new threads inherit them.
Status drop_privileges(const std::string& user, const std::optional<std::string>& group,
                       const std::vector<int>& keep);

}  // namespace etherpath::pkthere
