#include "core/failure.h"

#include <exception>
#include <new>

#include "core/error.h"

namespace netdbg {

std::optional<Failure> failure_of(const std::function<void()>& fn) {
    try {
        fn();
        return std::nullopt;
    } catch (const Interrupted& e) {
        return Failure{e.what(), true};
    } catch (const Error& e) {
        return Failure{e.what(), false};
    } catch (const std::bad_alloc&) {
        return Failure{"out of memory", false};
    } catch (const std::exception& e) {
        return Failure{std::string("internal error: ") + e.what(), false};
    } catch (...) {
        return Failure{"internal error: unknown exception", false};
    }
}

}  // namespace netdbg
