// program.cc: running a Program — per-batch memory plans, the arena, slot lifetimes.
#include "runtime/program.h"

#include <algorithm>
#include <chrono>
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
  plan_ = std::move(o.plan_);
  arena_ = std::move(o.arena_);
  arena_size_ = o.arena_size_;
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
  return plan_ && plan_->batch == batch ? plan_->total : 0;
}

Result<std::shared_ptr<const Program::Plan>> Program::plan_for(int64_t batch, const std::vector<Tensor>&) const {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (plan_ && plan_->batch == batch) return plan_;
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
  plan_ = plan;
  return std::shared_ptr<const Plan>(plan);
}

Result<std::vector<Tensor>> Program::run(const std::vector<Tensor>& inputs, std::vector<double>* step_seconds) const {
  const ir::Graph& g = graph_;
  if (inputs.size() != g.inputs.size())
    return Status::errorf("the model takes {} input(s), got {}", g.inputs.size(), inputs.size());
  Frame f;
  f.slots.resize(g.values.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    LB_TRY(exec::check_input(g, g.inputs[i], inputs[i]));
    f.slots[static_cast<size_t>(g.inputs[i])] = inputs[i];
  }
  for (size_t v = 0; v < g.values.size(); ++v)
    if (g.values[v].constant) f.slots[v] = *g.values[v].constant;
  const int64_t batch = inputs.empty() || inputs[0].rank() == 0 ? 1 : inputs[0].dim(0);
  LB_ASSIGN_OR_RETURN(std::shared_ptr<const Plan> plan, plan_for(batch, inputs));

  std::shared_ptr<uint8_t> arena;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (arena_ && arena_.use_count() == 1 && arena_size_ >= plan->total) {
      arena = arena_;
    } else {
      arena = allocate_arena(plan->total);
      if (!arena) return Status::errorf("out of memory allocating a {}-byte arena", plan->total);
      if (!arena_ || arena_.use_count() == 1) {
        arena_ = arena;
        arena_size_ = plan->total;
      }
    }
  }
  f.pool = &ThreadPool::global();
  if (step_seconds) step_seconds->resize(steps_.size(), 0.0);
  for (size_t s = 0; s < steps_.size(); ++s) {
    const Step& step = *steps_[s];
    for (int o : step.outputs) {
      const size_t v = static_cast<size_t>(o);
      if (in_arena_[v]) f.slots[v] = Tensor::view(arena, static_cast<size_t>(plan->offset[v]), *g.values[v].dtype, plan->shape[v]);
    }
    const auto t0 = std::chrono::steady_clock::now();
    LB_TRY(step.run(f).with_context(fmt::format("node '{}' ({})", step.node, step.op_type)));
    if (step_seconds) (*step_seconds)[s] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (int in : step.inputs) {
      const size_t v = static_cast<size_t>(in);
      if (last_use_[v] == static_cast<int>(s) && !is_output_[v] && !g.values[v].constant) f.slots[v] = Tensor();
    }
  }
  std::vector<Tensor> out;
  out.reserve(g.outputs.size());
  for (int o : g.outputs) {
    const Tensor& t = f.slots[static_cast<size_t>(o)];
    if (!t.defined()) return Status::errorf("graph output '{}' was not computed", g.value(o).name);
    // Arena bytes are overwritten by the next run: hand out a copy.
    out.push_back(in_arena_[static_cast<size_t>(view_root_[static_cast<size_t>(o)])] ? t.clone() : t);
  }
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
  p.isa = std::move(isa);
  return std::move(program_);
}

}  // namespace lowbit::runtime
