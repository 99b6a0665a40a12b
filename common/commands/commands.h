// One constructor per command; each lives in commands/<name>.cpp.
#pragma once

#include "core/command.h"

namespace netdbg {

Command netdbg_command();
Command rtnlowner_command();
Command lockowner_command();
Command uninterruptible_command();
Command listcheck_command();
Command aclist_command();
Command napiq_command();
Command workq_command();
Command netdev_command();
Command cpus_command();
Command kstack_command();
Command ftrace_command();

}  // namespace netdbg
