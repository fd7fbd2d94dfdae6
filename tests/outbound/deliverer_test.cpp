// The Deliverer against a real store and a receiver on a loopback socket: order, saved
// progress and resuming, retries, 410, and refreshes and removals racing the workers (run under
// ThreadSanitizer in CI).
#include "hookmcp/outbound/outbound.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "support/temp_dir.hpp"

namespace hookmcp::outbound {
namespace {

using std::chrono::milliseconds;

// Answers every request on loopback with the status `status()` gives, keeping connections
// alive, and records each request's X-MCP-Subscription-Id and body.
class Receiver {
 public:
  Receiver() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd_, 64);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    accept_ = std::thread([this] { accept_loop(); });
  }
  ~Receiver() {
    stopping_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    accept_.join();
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mu_);
      for (int c : connections_) ::shutdown(c, SHUT_RDWR);
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
    for (int c : connections_) ::close(c);
  }

  std::string url(const std::string& path = "/in") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  void set_status(int status) { status_ = status; }

  struct Got {
    std::string subscription;
    std::string body;
  };
  std::vector<Got> got() {
    std::lock_guard lock(mu_);
    return got_;
  }
  bool wait_for(size_t n, milliseconds timeout = milliseconds(10000)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return got_.size() >= n; });
  }

 private:
  void accept_loop() {
    while (!stopping_) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::lock_guard lock(mu_);
      connections_.push_back(c);
      threads_.emplace_back([this, c] { serve(c); });
    }
  }

  void serve(int c) {
    std::string buffer;
    char chunk[4096];
    for (;;) {
      size_t end = buffer.find("\r\n\r\n");
      while (end == std::string::npos) {
        ssize_t n = ::read(c, chunk, sizeof chunk);
        if (n <= 0) return;
        buffer.append(chunk, static_cast<size_t>(n));
        end = buffer.find("\r\n\r\n");
      }
      std::string head = buffer.substr(0, end);
      size_t length = 0;
      if (auto p = head.find("Content-Length: "); p != std::string::npos) {
        length = std::stoul(head.substr(p + 16));
      }
      while (buffer.size() < end + 4 + length) {
        ssize_t n = ::read(c, chunk, sizeof chunk);
        if (n <= 0) return;
        buffer.append(chunk, static_cast<size_t>(n));
      }
      std::string body = buffer.substr(end + 4, length);
      buffer.erase(0, end + 4 + length);
      std::string sub;
      if (auto p = head.find("X-MCP-Subscription-Id: "); p != std::string::npos) {
        sub = head.substr(p + 23, head.find("\r\n", p) - p - 23);
      }
      int status = status_.load();
      if (status < 300) {
        std::lock_guard lock(mu_);
        got_.push_back({sub, body});
        cv_.notify_all();
      }
      std::string answer = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: 0\r\n\r\n";
      // A delivery cancelled mid-flight closes its connection: no SIGPIPE for answering it.
      if (::send(c, answer.data(), answer.size(), MSG_NOSIGNAL) < 0) return;
    }
  }

  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> status_{204};
  std::thread accept_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<int> connections_;      // guarded by mu_
  std::vector<std::thread> threads_;  // guarded by mu_
  std::vector<Got> got_;              // guarded by mu_
};

// A feed over a list every subscription shares: message i (from 1) is "m<i>".
class ListFeed final : public Feed {
 public:
  explicit ListFeed(std::shared_ptr<std::atomic<int64_t>> count) : count_(std::move(count)) {}
  bool could_want(const Event&) const override { return true; }
  Result<std::vector<Message>> after(int64_t& position, int max) override {
    std::vector<Message> out;
    int64_t last = count_->load();
    for (int64_t i = position + 1; i <= last && static_cast<int>(out.size()) < max; ++i) {
      out.push_back({i, "m" + std::to_string(i), "{\"n\":" + std::to_string(i) + "}", 0});
    }
    position = out.empty() ? last : out.back().position;
    return out;
  }

 private:
  std::shared_ptr<std::atomic<int64_t>> count_;
};

class DelivererTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = hookmcp::testing::fresh_test_directory("outbound");
    open_store();
    policy_.allow_private = true;
    policy_.first_retry = milliseconds(20);
    policy_.max_retry = milliseconds(100);
    policy_.timeout = milliseconds(2000);
  }
  void TearDown() override {
    deliverer_.reset();
    store_->close();
    std::filesystem::remove_all(dir_);
  }

  void open_store() {
    store::Options o;
    o.path = (dir_ / "events.db").string();
    o.fsync_each_commit = false;
    o.clock = &clock_;
    auto s = store::open_sqlite(o);
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
  }

  void start() {
    deliverer_ = std::make_unique<Deliverer>(
        *store_, metrics_, policy_,
        std::map<std::string, FeedMaker>{
            {"test", [count = count_](const store::Subscription&) -> Result<std::shared_ptr<Feed>> {
               return std::shared_ptr<Feed>(std::make_shared<ListFeed>(count));
             }}});
    ASSERT_TRUE(deliverer_->start());
  }

  store::Subscription subscription(const std::string& id, const std::string& url) {
    store::Subscription s;
    s.id = id;
    s.kind = "test";
    s.principal = "p";
    s.name = "n";
    s.arguments = "{}";
    s.url = url;
    s.secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    s.created_at_ms = 1;
    return s;
  }

  // A deliverer whose one subscription, "sub_self", is `feed`'s; four messages published.
  void start_self(std::shared_ptr<Feed> feed) {
    deliverer_ = std::make_unique<Deliverer>(
        *store_, metrics_, policy_,
        std::map<std::string, FeedMaker>{
            {"self", [feed](const store::Subscription&) -> Result<std::shared_ptr<Feed>> {
               return feed;
             }}});
    ASSERT_TRUE(deliverer_->start());
    auto s = subscription("sub_self", "");
    s.kind = "self";
    ASSERT_TRUE(deliverer_->put(s));
    publish(4);
  }
  template <typename F>
  std::vector<std::string> settle(const std::shared_ptr<F>& feed, size_t n) {
    std::vector<std::string> got;
    for (int i = 0; i < 300; ++i) {
      got = feed->settled_list();
      if (got.size() >= n) break;
      std::this_thread::sleep_for(milliseconds(10));
    }
    std::this_thread::sleep_for(milliseconds(50));
    return feed->settled_list();
  }

  // Adds messages and tells the deliverer, as a commit would.
  void publish(int n) {
    count_->fetch_add(n);
    deliverer_->on_events({Event{}});
  }

  std::filesystem::path dir_;
  SystemClock clock_;
  Metrics metrics_;
  Policy policy_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Deliverer> deliverer_;
  std::shared_ptr<std::atomic<int64_t>> count_ = std::make_shared<std::atomic<int64_t>>(0);
};

TEST_F(DelivererTest, DeliversInOrderSavesProgressAndResumesAfterARestart) {
  Receiver receiver;
  start();
  ASSERT_TRUE(deliverer_->put(subscription("sub_a", receiver.url())));
  publish(30);
  ASSERT_TRUE(receiver.wait_for(30));
  auto got = receiver.got();
  for (int i = 0; i < 30; ++i) {
    EXPECT_EQ(got[static_cast<size_t>(i)].body, "{\"n\":" + std::to_string(i + 1) + "}");
    EXPECT_EQ(got[static_cast<size_t>(i)].subscription, "sub_a");
  }
  // Progress reaches the store; a new deliverer (a restart) sends only what came after.
  for (int i = 0; i < 200 && store_->subscriptions()->at(0).position != 30; ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_EQ(store_->subscriptions()->at(0).delivered, 30);
  deliverer_->stop();
  count_->fetch_add(5);
  start();
  ASSERT_TRUE(receiver.wait_for(35));
  std::this_thread::sleep_for(milliseconds(100));
  got = receiver.got();
  ASSERT_EQ(got.size(), 35u);
  EXPECT_EQ(got[30].body, "{\"n\":31}");
  EXPECT_EQ(metrics_.outbound_delivered.value(), 35u);
}

TEST_F(DelivererTest, AFailingReceiverIsRetriedInOrderAnd410EndsTheSubscription) {
  Receiver receiver;
  receiver.set_status(503);
  start();
  ASSERT_TRUE(deliverer_->put(subscription("sub_a", receiver.url())));
  publish(3);
  for (int i = 0; i < 300 && metrics_.outbound_failed.value() < 3; ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_GE(metrics_.outbound_failed.value(), 3u);
  EXPECT_EQ(deliverer_->find("sub_a").value()->last_error, "http_5xx");
  EXPECT_EQ(metrics_.outbound_failing_subscriptions.value(), 1);
  receiver.set_status(200);
  ASSERT_TRUE(receiver.wait_for(3));
  EXPECT_EQ(receiver.got()[0].body, "{\"n\":1}");
  EXPECT_GE(metrics_.outbound_retried.value(), 1u);
  EXPECT_EQ(metrics_.outbound_failing_subscriptions.value(), 0);
  receiver.set_status(410);
  publish(1);
  for (int i = 0; i < 300 && !deliverer_->find("sub_a").value()->ended; ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_TRUE(deliverer_->find("sub_a").value()->ended);
  EXPECT_NE(deliverer_->find("sub_a").value()->end_reason.find("410"), std::string::npos);
  EXPECT_EQ(metrics_.outbound_subscriptions.value(), 0);
}

TEST_F(DelivererTest, RefreshesAndRemovalsRaceTheWorkersSafely) {
  Receiver receiver;
  policy_.workers = 4;
  start();
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(deliverer_->put(
        subscription("sub_" + std::to_string(i), receiver.url("/" + std::to_string(i)))));
  }
  std::atomic<bool> done{false};
  std::thread publisher([&] {
    for (int i = 0; i < 50; ++i) {
      publish(1);
      std::this_thread::sleep_for(milliseconds(2));
    }
    done = true;
  });
  for (int round = 0; !done; ++round) {
    std::string id = "sub_" + std::to_string(round % 10);
    (void)deliverer_->update(id, [](store::Subscription& s) { s.expires_at_ms = 0; });
    if (round == 5) {
      ASSERT_TRUE(deliverer_->remove("sub_19"));
    }
    (void)deliverer_->list();
  }
  publisher.join();
  // The other 19 each get all 50, in order.
  ASSERT_TRUE(receiver.wait_for(19 * 50, milliseconds(20000)));
  std::map<std::string, int64_t> last;
  for (const auto& g : receiver.got()) {
    int64_t n = std::stoll(g.body.substr(5));
    EXPECT_GT(n, last[g.subscription]) << g.subscription;  // in order, and no repeat
    last[g.subscription] = n;
  }
  EXPECT_EQ(deliverer_->list().value().size(), 19u);
}

// Sends its own way: message 2 always fails, the others succeed; `window` at once.
class SelfFeed final : public Feed {
 public:
  SelfFeed(std::shared_ptr<std::atomic<int64_t>> count, int window)
      : list_(std::move(count)), window_(window) {}
  bool could_want(const Event& e) const override { return list_.could_want(e); }
  Result<std::vector<Message>> after(int64_t& position, int max) override {
    auto out = list_.after(position, max);
    if (!out) return out;
    std::lock_guard lock(mu_);
    std::erase_if(*out, [this](const Message& m) { return done_.count(m.position) > 0; });
    return out;
  }
  std::optional<Attempt> send(const Message& m, net::Client&, const Deliverer&) override {
    Attempt a;
    a.succeeded = m.position != 2;
    if (!*a.succeeded) a.reason = "broken";
    std::lock_guard lock(mu_);
    sent_.push_back(m.position);
    return a;
  }
  int max_attempts() const override { return 2; }
  int window() const override { return window_; }
  void settled(const Message& m, const Attempt& a, int64_t attempts, bool gave_up) override {
    std::lock_guard lock(mu_);
    if (a.ok()) done_.insert(m.position);
    settled_.push_back(std::to_string(m.position) +
                       (a.ok()    ? " ok"
                        : gave_up ? " dead"
                                  : " failed") +
                       " " + std::to_string(attempts));
  }
  std::vector<std::string> settled_list() {
    std::lock_guard lock(mu_);
    return settled_;
  }
  std::vector<int64_t> sent() {
    std::lock_guard lock(mu_);
    return sent_;
  }

 private:
  ListFeed list_;
  const int window_;
  std::mutex mu_;
  std::set<int64_t> done_;
  std::vector<int64_t> sent_;
  std::vector<std::string> settled_;
};

// A feed that gives messages up (triggers): the one that keeps failing is given up after its
// attempts and the others go on, in order; with a window, one sent beside it and delivered is
// not sent again once it passes.
TEST_F(DelivererTest, AMessageIsGivenUpAfterItsAttemptsAndTheOthersGoOn) {
  auto feed = std::make_shared<SelfFeed>(count_, 1);
  start_self(feed);
  auto got = settle(feed, 5);
  EXPECT_EQ(got,
            (std::vector<std::string>{"1 ok 1", "2 failed 1", "2 dead 2", "3 ok 1", "4 ok 1"}));
  EXPECT_EQ(feed->sent(), (std::vector<int64_t>{1, 2, 2, 3, 4}));
  auto stored = deliverer_->find("sub_self").value();
  EXPECT_EQ(stored->position, 4);
  EXPECT_FALSE(stored->ended);
  EXPECT_EQ(stored->failures, 0);
  EXPECT_EQ(metrics_.outbound_given_up.value(), 1u);
}

TEST_F(DelivererTest, AWindowSendsSeveralAtOnceAndRecordsThemInOrder) {
  auto feed = std::make_shared<SelfFeed>(count_, 3);
  start_self(feed);
  auto got = settle(feed, 5);
  EXPECT_EQ(got,
            (std::vector<std::string>{"1 ok 1", "2 failed 1", "3 ok 1", "2 dead 2", "4 ok 1"}));
  auto sent = feed->sent();
  EXPECT_EQ(std::count(sent.begin(), sent.end(), 3), 1) << "3 ran beside 2 and is not sent again";
  EXPECT_EQ(deliverer_->find("sub_self").value()->position, 4);
}

}  // namespace
}  // namespace hookmcp::outbound
