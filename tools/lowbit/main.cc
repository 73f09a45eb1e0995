// main.cc: the `lowbit` command — parses the command line and runs one subcommand.
//
// Exit codes: 0 success, 2 bad input (model, data, shapes, options), 1 internal failure.
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>

#include "cli_util.h"
#include "commands.h"
#include "kernels/fp32/blas_env.h"

int main(int argc, char** argv) {
  using namespace lowbit::cli;
  lowbit::kernels::reexec_with_openblas_coretype(argv);
  CLI::App app{"lowbit: quantize ONNX models, measure what it costs, run them as integer code"};
  app.require_subcommand(1);
  app.fallthrough();
  int threads = 0;
  app.add_option("--threads", threads, "Worker threads (default: LOWBIT_THREADS or all cores)")
      ->check(CLI::NonNegativeNumber);
  std::function<int()> action;
  add_info_command(app, &action);
  add_eval_command(app, &action);
  add_run_command(app, &action);
  add_quantize_command(app, &action);
  add_compare_command(app, &action);
  add_inspect_command(app, &action);
  add_bench_command(app, &action);
  add_export_command(app, &action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitBadInput;
  }
  try {
    apply_threads(threads);
    return action ? action() : kExitBadInput;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lowbit: internal error: %s\n", e.what());
    return 1;
  }
}
