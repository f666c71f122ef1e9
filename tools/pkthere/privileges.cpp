// drop_privileges: getpwnam/getgrnam, then capng_change_id with the kept capabilities.
#include "tools/pkthere/privileges.hpp"

#include <fmt/format.h>
#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>

#include <cap-ng.h>

namespace etherpath::pkthere {

Status drop_privileges(const std::string& user, const std::optional<std::string>& group,
                       const std::vector<int>& keep) {
  const passwd* pw = ::getpwnam(user.c_str());
  if (pw == nullptr) {
    return fail(Errc::not_found, fmt::format("user {} not found", user));
  }
  const uid_t uid = pw->pw_uid;
  gid_t gid = pw->pw_gid;
  if (group) {
    const ::group* gr = ::getgrnam(group->c_str());
    if (gr == nullptr) {
      return fail(Errc::not_found, fmt::format("group {} not found", *group));
    }
    gid = gr->gr_gid;
  }
  capng_clear(CAPNG_SELECT_BOTH);
  for (const int cap : keep) {
    if (capng_update(CAPNG_ADD, static_cast<capng_type_t>(CAPNG_EFFECTIVE | CAPNG_PERMITTED),
                     static_cast<unsigned>(cap)) != 0) {
      return fail(Errc::invalid_argument, fmt::format("capng_update({})", cap));
    }
  }
  const int rc =
      capng_change_id(static_cast<int>(uid), static_cast<int>(gid),
                      static_cast<capng_flags_t>(CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING));
  if (rc != 0) {
    return fail(Errc::unsupported,
                fmt::format("dropping privileges to {} failed (capng_change_id {})", user, rc));
  }
  return ok();
}

}  // namespace etherpath::pkthere
