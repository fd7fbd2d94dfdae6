// The private SQLite wrapper of the store.
#include "sqlite.hpp"

#include <gtest/gtest.h>

namespace hookmcp::store::sqlite {
namespace {

TEST(SqliteTest, AFailedBindingFailsTheStepSaysWhichAndIsCounted) {
  Metrics metrics;
  auto db = Connection::open(":memory:", /*create=*/true, &metrics);
  ASSERT_TRUE(db) << db.error().message;
  auto stmt = (*db)->prepare("SELECT ?1");
  ASSERT_TRUE(stmt);
  Statement& s = **stmt;
  s.bind(2, int64_t{7});  // there is no parameter 2
  int rc = s.step();
  EXPECT_NE(rc, SQLITE_ROW);
  EXPECT_NE(rc, SQLITE_DONE);
  EXPECT_NE(s.error("select").message.find("cannot bind parameter 2"), std::string::npos)
      << s.error("select").message;
  EXPECT_EQ(metrics.store_bind_failures.value(), 1u);

  // A reset statement binds afresh.
  s.reset();
  s.bind(1, int64_t{7});
  ASSERT_EQ(s.step(), SQLITE_ROW);
  EXPECT_EQ(s.int64(0), 7);
  EXPECT_EQ(metrics.store_bind_failures.value(), 1u);
}

TEST(SqliteTest, ChangesAndLastInsertRowidAreThoseOfTheLastStatement) {
  auto db = Connection::open(":memory:", /*create=*/true);
  ASSERT_TRUE(db);
  Connection& c = **db;
  ASSERT_TRUE(c.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v)"));
  ASSERT_TRUE(c.exec("INSERT INTO t(v) VALUES (1), (2), (3)"));
  EXPECT_EQ(c.last_insert_rowid(), 3);
  ASSERT_TRUE(c.exec("UPDATE t SET v = 0 WHERE id < 3"));
  EXPECT_EQ(c.changes(), 2);
}

}  // namespace
}  // namespace hookmcp::store::sqlite
