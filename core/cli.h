// Parsing a command line with CLI11 the way every vmprep program does: --help prints and
// exits 0, and a parse error is cut to its first line (CLI11 appends a usage hint) and handed
// to the program's own refusal, which prints it and says which exit status it means.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

namespace vmprep {

// nullopt: `app` parsed the line and the program goes on. Otherwise the exit status: help's,
// or what `refuse(first line of the error)` returns.
template <class Refuse>
std::optional<int> ParseCommandLine(CLI::App& app, int argc, char** argv, Refuse refuse) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    if (auto nl = what.find('\n'); nl != std::string::npos) what.resize(nl);
    return refuse(what);
  }
  return std::nullopt;
}

}  // namespace vmprep
