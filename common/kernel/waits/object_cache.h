// The objects a wait reader has read, by address: each lock's wait list is
// walked once however many of its waiters ask. An object that cannot be
// read is remembered as such; Ctrl-C still ends the command.
#pragma once

#include <optional>
#include <unordered_map>

#include "core/kernel.h"

namespace netdbg {

template <class State>
class ObjectCache {
public:
    // read(addr) returns the State or throws Error.
    template <class Read>
    const State* get(addr_t addr, Read&& read) {
        auto it = cache_.find(addr);
        if (it == cache_.end()) {
            std::optional<State> v;
            try {
                v = read(addr);
            } catch (const Interrupted&) {
                throw;
            } catch (const Error&) {
            }
            it = cache_.emplace(addr, std::move(v)).first;
        }
        return it->second ? &*it->second : nullptr;
    }

private:
    std::unordered_map<addr_t, std::optional<State>> cache_;
};

}  // namespace netdbg
