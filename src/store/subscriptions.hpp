// Private to the store: the SQL of subscriptions and of meta.pruned_through, on a connection the
// caller provides (a reader's, or the writer's inside its thread).
#pragma once

#include <string>
#include <vector>

#include "hookmcp/store/store.hpp"
#include "sqlite.hpp"

namespace hookmcp::store {

Result<std::vector<Subscription>> read_subscriptions(sqlite::Connection& db);
Result<int64_t> read_pruned_through(sqlite::Connection& db);

// Each in a transaction of its own.
Status write_subscription(sqlite::Connection& db, const Subscription& s);
Status erase_subscription(sqlite::Connection& db, const std::string& id);
Status write_progress(sqlite::Connection& db, const std::vector<SubscriptionProgress>& progress);

}  // namespace hookmcp::store
