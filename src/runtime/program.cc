// program.cc: running a Program — per-batch memory plans, the arena, slot lifetimes.
#include "runtime/program.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <new>

#include "exec/session.h"
#include "runtime/memory_plan.h"

namespace lowbit::runtime {

namespace {

constexpr int64_t kArenaAlignment = 64;
constexpr int64_t kOverReadSlack = 64;  // vector kernels may read one line past a buffer (tensor.h)

std::shared_ptr<uint8_t> allocate_arena(int64_t bytes) {
  const size_t n = static_cast<size_t>(std::max<int64_t>(bytes, kArenaAlignment));
  void* p = ::operator new(n, std::align_val_t{kArenaAlignment}, std::nothrow);
  if (!p) return nullptr;
  return std::shared_ptr<uint8_t>(static_cast<uint8_t*>(p),
                                  [](uint8_t* q) { ::operator delete(q, std::align_val_t{kArenaAlignment}); });
}

}  // namespace

struct Program::Plan {
  int64_t batch = 0;
  std::vector<int64_t> offset;  // per slot, -1 outside the arena
  std::vector<Shape> shape;     // per arena slot, at this batch
  int64_t total = 0;
};

Program::Program(Program&& o) noexcept { *this = std::move(o); }

Program& Program::operator=(Program&& o) noexcept {
  if (this == &o) return *this;
  std::scoped_lock lock(mu_, o.mu_);
  graph_ = std::move(o.graph_);
  steps_ = std::move(o.steps_);
  report_ = std::move(o.report_);
  in_arena_ = std::move(o.in_arena_);
  view_root_ = std::move(o.view_root_);
  last_use_ = std::move(o.last_use_);
  producer_step_ = std::move(o.producer_step_);
  is_output_ = std::move(o.is_output_);
  sliceable_ = o.sliceable_;
  bytes_per_sample_ = o.bytes_per_sample_;
  plans_ = std::move(o.plans_);
  free_arenas_ = std::move(o.free_arenas_);
  isa = std::move(o.isa);
  return *this;
}

Program::~Program() = default;

int64_t Program::integer_nodes() const {
  return std::count_if(report_.begin(), report_.end(), [](const NodeReport& r) { return r.integer; });
}

int64_t Program::fp32_nodes() const { return static_cast<int64_t>(report_.size()) - integer_nodes(); }

int64_t Program::arena_bytes(int64_t batch) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& p : plans_)
    if (p->batch == batch) return p->total;
  return 0;
}

int64_t Program::slice_size(int64_t batch) const {
  if (!sliceable_ || batch <= 1) return batch;
  // Slices whose arena fits comfortably in L2, and at least one per thread.
  constexpr int64_t kSliceArenaBytes = 512 * 1024;
  int64_t s = std::max<int64_t>(1, kSliceArenaBytes / std::max<int64_t>(bytes_per_sample_, 1));
  const int64_t threads = ThreadPool::global().num_threads();
  s = std::min(s, (batch + threads - 1) / threads);
  return std::min(s, batch);
}

Result<std::shared_ptr<const Program::Plan>> Program::plan_for(int64_t batch) const {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& p : plans_)
      if (p->batch == batch) return p;
  }
  auto plan = std::make_shared<Plan>();
  plan->batch = batch;
  plan->offset.assign(graph_.values.size(), -1);
  plan->shape.resize(graph_.values.size());
  std::vector<BufferLife> lives;
  std::vector<int> slot_of;
  for (size_t v = 0; v < graph_.values.size(); ++v) {
    if (!in_arena_[v]) continue;
    const ir::Value& value = graph_.values[v];
    Shape shape = *value.shape;  // compile proved it known except dim 0, the batch
    if (!shape.empty() && shape[0] < 0) shape[0] = batch;
    LB_ASSIGN_OR_RETURN(int64_t n, checked_numel(shape));
    const int64_t elem = static_cast<int64_t>(dtype_size(*value.dtype));
    if (n > static_cast<int64_t>(max_tensor_bytes()) / elem)
      return Status::errorf("value '{}' of shape {} is over the tensor size limit", value.name, shape_str(shape));
    lives.push_back({n * elem + kOverReadSlack, producer_step_[v], std::max(last_use_[v], producer_step_[v])});
    slot_of.push_back(static_cast<int>(v));
    plan->shape[v] = std::move(shape);
  }
  const MemoryPlan mp = plan_memory(lives, kArenaAlignment);
  for (size_t i = 0; i < slot_of.size(); ++i) plan->offset[static_cast<size_t>(slot_of[i])] = mp.offsets[i];
  plan->total = mp.total;
  std::lock_guard<std::mutex> lock(mu_);
  constexpr size_t kKeptPlans = 4;
  if (plans_.size() >= kKeptPlans) plans_.erase(plans_.begin());
  plans_.push_back(plan);
  return std::shared_ptr<const Plan>(plan);
}

std::shared_ptr<uint8_t> Program::take_arena(int64_t bytes) const {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t i = 0; i < free_arenas_.size(); ++i) {
      if (free_arenas_[i].second < bytes) continue;
      std::shared_ptr<uint8_t> a = std::move(free_arenas_[i].first);
      free_arenas_.erase(free_arenas_.begin() + static_cast<std::ptrdiff_t>(i));
      return a;
    }
  }
  return allocate_arena(bytes);
}

void Program::return_arena(std::shared_ptr<uint8_t> arena, int64_t bytes) const {
  std::lock_guard<std::mutex> lock(mu_);
  constexpr size_t kKeptArenas = 8;  // one per thread and batch shape in practice
  if (free_arenas_.size() >= kKeptArenas) free_arenas_.erase(free_arenas_.begin());
  free_arenas_.emplace_back(std::move(arena), bytes);
}

Result<std::vector<Tensor>> Program::run(const std::vector<Tensor>& inputs, std::vector<double>* step_seconds) const {
  const ir::Graph& g = graph_;
  if (inputs.size() != g.inputs.size())
    return Status::errorf("the model takes {} input(s), got {}", g.inputs.size(), inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) LB_TRY(exec::check_input(g, g.inputs[i], inputs[i]));
  const int64_t batch = inputs.empty() || inputs[0].rank() == 0 ? 1 : inputs[0].dim(0);
  const int64_t slice = slice_size(batch);
  ThreadPool& pool = ThreadPool::global();
  if (slice >= batch || step_seconds) return run_whole(inputs, &pool, step_seconds);

  // Slices of `slice` images through the whole program, spread over the pool.
  const int64_t slices = (batch + slice - 1) / slice;
  std::vector<Result<std::vector<Tensor>>> parts(static_cast<size_t>(slices), Status::error("not run"));
  pool.parallel_for(slices, 1, [&](int64_t s0, int64_t s1) {
    for (int64_t s = s0; s < s1; ++s) {
      const int64_t b0 = s * slice, b1 = std::min(batch, b0 + slice);
      std::vector<Tensor> in;
      for (const Tensor& x : inputs) {
        Shape shape = x.shape();
        shape[0] = b1 - b0;
        Result<Tensor> part = Tensor::make_uninit(x.dtype(), shape);
        if (!part.is_ok()) {
          parts[static_cast<size_t>(s)] = part.status();
          return;
        }
        const size_t row = x.nbytes() / static_cast<size_t>(batch);
        std::memcpy(part->raw(), static_cast<const uint8_t*>(x.raw()) + static_cast<size_t>(b0) * row,
                    static_cast<size_t>(b1 - b0) * row);
        in.push_back(std::move(part).value());
      }
      parts[static_cast<size_t>(s)] = run_whole(in, nullptr, nullptr);
    }
  });
  for (auto& p : parts) LB_TRY(p.status());
  std::vector<Tensor> out;
  for (size_t o = 0; o < g.outputs.size(); ++o) {
    const Tensor& first = (*parts[0])[o];
    Shape shape = first.shape();
    if (shape.empty()) return Status::errorf("output '{}' has no batch dimension", g.value(g.outputs[o]).name);
    shape[0] = batch;
    LB_ASSIGN_OR_RETURN(Tensor y, Tensor::make_uninit(first.dtype(), shape));
    size_t at = 0;
    for (auto& p : parts) {
      const Tensor& t = (*p)[o];
      std::memcpy(static_cast<uint8_t*>(y.raw()) + at, t.raw(), t.nbytes());
      at += t.nbytes();
    }
    if (at != y.nbytes()) return Status::errorf("output '{}': slices do not add up to the batch", g.value(g.outputs[o]).name);
    out.push_back(std::move(y));
  }
  return out;
}

Result<std::vector<Tensor>> Program::run_whole(const std::vector<Tensor>& inputs, ThreadPool* pool,
                                               std::vector<double>* step_seconds) const {
  const ir::Graph& g = graph_;
  Frame f;
  f.slots.resize(g.values.size());
  for (size_t i = 0; i < inputs.size(); ++i) f.slots[static_cast<size_t>(g.inputs[i])] = inputs[i];
  for (size_t v = 0; v < g.values.size(); ++v)
    if (g.values[v].constant) f.slots[v] = *g.values[v].constant;
  const int64_t batch = inputs.empty() || inputs[0].rank() == 0 ? 1 : inputs[0].dim(0);
  LB_ASSIGN_OR_RETURN(std::shared_ptr<const Plan> plan, plan_for(batch));
  std::shared_ptr<uint8_t> arena = take_arena(plan->total);
  if (!arena) return Status::errorf("out of memory allocating a {}-byte arena", plan->total);
  f.pool = pool;
  if (step_seconds) step_seconds->resize(steps_.size(), 0.0);
  Status status = Status::ok();
  for (size_t s = 0; s < steps_.size() && status.is_ok(); ++s) {
    const Step& step = *steps_[s];
    for (int o : step.outputs) {
      const size_t v = static_cast<size_t>(o);
      if (in_arena_[v]) f.slots[v] = Tensor::view(arena, static_cast<size_t>(plan->offset[v]), *g.values[v].dtype, plan->shape[v]);
    }
    const auto t0 = std::chrono::steady_clock::now();
    status = step.run(f).with_context(fmt::format("node '{}' ({})", step.node, step.op_type));
    if (step_seconds) (*step_seconds)[s] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (int in : step.inputs) {
      const size_t v = static_cast<size_t>(in);
      if (last_use_[v] == static_cast<int>(s) && !is_output_[v] && !g.values[v].constant) f.slots[v] = Tensor();
    }
  }
  std::vector<Tensor> out;
  if (status.is_ok()) {
    out.reserve(g.outputs.size());
    for (int o : g.outputs) {
      const Tensor& t = f.slots[static_cast<size_t>(o)];
      if (!t.defined()) {
        status = Status::errorf("graph output '{}' was not computed", g.value(o).name);
        break;
      }
      // Arena bytes are overwritten by the next run: hand out a copy.
      out.push_back(in_arena_[static_cast<size_t>(view_root_[static_cast<size_t>(o)])] ? t.clone() : t);
    }
  }
  f.slots.clear();  // drop the views before the arena goes back
  return_arena(std::move(arena), plan->total);
  LB_TRY(status);
  return out;
}

Result<Program> ProgramBuilder::finish(std::string isa) {
  Program& p = program_;
  const ir::Graph& g = p.graph_;
  const size_t nv = g.values.size();
  // Keep the steps some graph output depends on.
  std::vector<bool> needed(nv, false);
  for (int o : g.outputs) needed[static_cast<size_t>(o)] = true;
  std::vector<std::unique_ptr<Step>> kept;
  for (size_t i = p.steps_.size(); i-- > 0;) {
    Step& s = *p.steps_[i];
    const bool keep = std::any_of(s.outputs.begin(), s.outputs.end(), [&](int o) { return needed[static_cast<size_t>(o)]; });
    if (!keep) continue;
    for (int in : s.inputs) needed[static_cast<size_t>(in)] = true;
    kept.push_back(std::move(p.steps_[i]));
  }
  std::reverse(kept.begin(), kept.end());
  p.steps_ = std::move(kept);

  p.in_arena_.assign(nv, false);
  p.view_root_.resize(nv);
  for (size_t v = 0; v < nv; ++v) p.view_root_[v] = static_cast<int>(v);
  p.last_use_.assign(nv, -1);
  p.producer_step_.assign(nv, -1);
  p.is_output_.assign(nv, false);
  std::vector<bool> available(nv, false);
  for (int in : g.inputs) available[static_cast<size_t>(in)] = true;
  for (size_t v = 0; v < nv; ++v)
    if (g.values[v].constant) available[v] = true;
  for (size_t s = 0; s < p.steps_.size(); ++s) {
    const Step& step = *p.steps_[s];
    for (int in : step.inputs) {
      const size_t v = static_cast<size_t>(in);
      if (!available[v])
        return Status::errorf("internal: step for node '{}' reads '{}' before it is computed", step.node, g.values[v].name);
      p.last_use_[v] = static_cast<int>(s);
      p.last_use_[static_cast<size_t>(p.view_root_[v])] = static_cast<int>(s);
    }
    for (int o : step.outputs) {
      const size_t v = static_cast<size_t>(o);
      available[v] = true;
      p.producer_step_[v] = static_cast<int>(s);
      if (step.is_view()) p.view_root_[v] = p.view_root_[static_cast<size_t>(step.inputs[0])];
      else if (step.integer()) {
        if (!g.values[v].dtype || !g.values[v].shape)
          return Status::errorf("internal: integer value '{}' has no static type and shape", g.values[v].name);
        p.in_arena_[v] = true;
      }
    }
  }
  const int end = static_cast<int>(p.steps_.size());
  for (int o : g.outputs) {
    const size_t v = static_cast<size_t>(o);
    if (!available[v]) return Status::errorf("graph output '{}' is never computed", g.values[v].name);
    p.is_output_[v] = true;
    p.last_use_[v] = end;
    p.last_use_[static_cast<size_t>(p.view_root_[v])] = end;
  }
  // Slicing needs every step per-sample and batch-major inputs and outputs (dim 0 symbolic).
  p.sliceable_ = !g.inputs.empty();
  for (const auto& step : p.steps_) p.sliceable_ = p.sliceable_ && step->per_sample();
  for (int v : g.inputs) p.sliceable_ = p.sliceable_ && g.value(v).shape && !g.value(v).shape->empty() && (*g.value(v).shape)[0] < 0;
  for (int v : g.outputs) p.sliceable_ = p.sliceable_ && g.value(v).shape && !g.value(v).shape->empty() && (*g.value(v).shape)[0] < 0;
  p.isa = std::move(isa);
  if (p.sliceable_) {
    LB_ASSIGN_OR_RETURN(std::shared_ptr<const Program::Plan> one, p.plan_for(1));
    p.bytes_per_sample_ = std::max<int64_t>(one->total, 1);
  }
  return std::move(program_);
}

}  // namespace lowbit::runtime
