#pragma once
// The emulated thread context of DESIGN.md section 3: each thread of a block
// is a Boost.Fiber on one OS thread, sync() is a fiber barrier, shared<T>()
// is the block's shared buffer. Blocks run one after another. A kernel body
// that misses a barrier reads stale shared memory here just as on a GPU;
// permuting the start order of the fibers makes that visible.
#include <boost/fiber/all.hpp>

#include <algorithm>
#include <cstddef>
#include <numeric>
#include <random>
#include <vector>

namespace flowsampler::simt {

struct BlockState {
  explicit BlockState(unsigned threads, std::size_t shared_bytes)
      : barrier(threads), shared((shared_bytes + sizeof(std::max_align_t) - 1) / sizeof(std::max_align_t)) {}
  boost::fibers::barrier barrier;
  std::vector<std::max_align_t> shared;
};

class FiberThreadContext {
 public:
  FiberThreadContext(BlockState& state, unsigned thread, unsigned block, unsigned block_dim, unsigned grid_dim)
      : state_(&state), thread_(thread), block_(block), block_dim_(block_dim), grid_dim_(grid_dim) {}
  unsigned thread() const { return thread_; }
  unsigned block() const { return block_; }
  unsigned block_dim() const { return block_dim_; }
  unsigned grid_dim() const { return grid_dim_; }
  void sync() const { state_->barrier.wait(); }
  template <class T>
  T* shared() const { return reinterpret_cast<T*>(state_->shared.data()); }

 private:
  BlockState* state_;
  unsigned thread_, block_, block_dim_, grid_dim_;
};

struct LaunchConfig {
  unsigned grid = 1, block = 1;
  std::size_t shared_bytes = 0;
  /// 0: threads start in index order; otherwise a seed for a random permutation.
  unsigned permute_seed = 0;
};

/// Runs Body::run(ctx, args...) for every thread of every block, like
/// launch_body<Body><<<grid, block, shared_bytes>>>(args...).
template <class Body, class... Args>
void launch(const LaunchConfig& cfg, Args... args) {
  std::vector<unsigned> order(cfg.block);
  std::iota(order.begin(), order.end(), 0u);
  std::mt19937 rng(cfg.permute_seed);
  for (unsigned b = 0; b < cfg.grid; ++b) {
    if (cfg.permute_seed) std::shuffle(order.begin(), order.end(), rng);
    BlockState state(cfg.block, cfg.shared_bytes);
    // Poison shared memory so that a read before any write shows up.
    std::fill(reinterpret_cast<unsigned char*>(state.shared.data()),
              reinterpret_cast<unsigned char*>(state.shared.data() + state.shared.size()), 0xA5);
    std::vector<boost::fibers::fiber> fibers;
    fibers.reserve(cfg.block);
    for (unsigned t : order)
      fibers.emplace_back([&state, t, b, &cfg, args...]() mutable {
        FiberThreadContext ctx(state, t, b, cfg.block, cfg.grid);
        Body::run(ctx, args...);
      });
    for (auto& f : fibers) f.join();
  }
}

}  // namespace flowsampler::simt
