// The host pool hands out 64-byte aligned blocks of every size, keeps blocks
// for reuse by size class, and takes back blocks released on another thread.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include "core/host_pool.hpp"

namespace fc = flowsampler::cpu;

namespace {

// Fills the block with a pattern that names its size, then checks it.
void fill(void* p, std::size_t bytes) { std::memset(p, static_cast<int>(bytes % 251), bytes); }
bool intact(const void* p, std::size_t bytes) {
  const auto* c = static_cast<const unsigned char*>(p);
  for (std::size_t i = 0; i < bytes; ++i)
    if (c[i] != bytes % 251) return false;
  return true;
}

const std::size_t sizes[] = {1, 63, 4095, 4096, 65536, 65537, (1u << 20) - 1, 1u << 20, (1u << 21) + 5};

}  // namespace

TEST(HostPool, BlocksAreAlignedDistinctAndHoldTheirBytes) {
  std::vector<void*> live;
  for (int round = 0; round < 3; ++round)
    for (std::size_t b : sizes) {
      void* p = fc::host_allocate(b);
      ASSERT_NE(p, nullptr);
      EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % 64, 0u) << b;
      fill(p, b);
      live.push_back(p);
    }
  std::size_t k = 0;
  for (int round = 0; round < 3; ++round)
    for (std::size_t b : sizes) EXPECT_TRUE(intact(live[k++], b)) << b;  // no two blocks overlap
  for (void* p : live) fc::host_release(p);
  EXPECT_EQ(fc::host_allocate(0), nullptr);
  fc::host_release(nullptr);
}

TEST(HostPool, ReleasedBlocksOfTheSameSizeAreReused) {
  for (std::size_t b : {std::size_t(65536), std::size_t(3) << 20}) {
    void* p = fc::host_allocate(b);
    fc::host_release(p);
    void* q = fc::host_allocate(b);
    EXPECT_EQ(p, q) << b;  // the kept block, not fresh pages
    void* other = fc::host_allocate(b + 64);
    EXPECT_NE(other, q);
    fc::host_release(other);
    fc::host_release(q);
  }
}

TEST(HostPool, BlocksCrossThreadsAndThreadsEndWithBlocksKept) {
  // Blocks taken here are released on worker threads, which then end with
  // those blocks in their caches (the sanitizer build checks none leaks).
  std::vector<void*> blocks;
  for (int i = 0; i < 40; ++i) blocks.push_back(fc::host_allocate(8192 + 64 * (i % 5)));
  std::thread a([&] {
    for (int i = 0; i < 20; ++i) fc::host_release(blocks[i]);
    void* p = fc::host_allocate(8192);
    fill(p, 8192);
    EXPECT_TRUE(intact(p, 8192));
    fc::host_release(p);
  });
  a.join();
  std::thread b([&] {
    for (int i = 20; i < 40; ++i) fc::host_release(blocks[i]);
  });
  b.join();
}
