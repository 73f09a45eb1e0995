// commands.h: each subcommand registers its options and, when chosen, the action main() runs.
#pragma once

#include <functional>

namespace CLI {
class App;
}

namespace lowbit::cli {

void add_info_command(CLI::App& app, std::function<int()>* action);
void add_eval_command(CLI::App& app, std::function<int()>* action);
void add_run_command(CLI::App& app, std::function<int()>* action);
void add_quantize_command(CLI::App& app, std::function<int()>* action);
void add_compare_command(CLI::App& app, std::function<int()>* action);
void add_inspect_command(CLI::App& app, std::function<int()>* action);
void add_bench_command(CLI::App& app, std::function<int()>* action);
void add_export_command(CLI::App& app, std::function<int()>* action);

}  // namespace lowbit::cli
