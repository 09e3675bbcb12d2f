// Every probe over every captured sysroot: the full list of "id:severity" must equal the
// reviewed list in tests/sysroots/expected/<sysroot>[.<variant>].txt, so a new, missing or
// changed finding fails. A file may start with "# devices: ADDR..." (as --device),
// "# only: CHECK..." (as --only) and "# guest" (as --guest); other "#" lines are the
// reviewer's notes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "checks/probe.h"
#include "tests/probe_test_util.h"
#include "tests/sysroot.h"

namespace vmprep {
namespace {

namespace fs = std::filesystem;

const fs::path kSysroots = fs::path(VMPREP_SOURCE_DIR) / "tests/sysroots";

struct Case {
  std::string file;     // expected-list file name
  std::string sysroot;  // tarball name
};

std::vector<Case> Cases() {
  std::vector<Case> cases;
  for (const auto& e : fs::directory_iterator(kSysroots / "expected")) {
    std::string name = e.path().filename().string();
    if (!name.ends_with(".txt")) continue;
    std::string stem = name.substr(0, name.size() - 4);
    cases.push_back({name, stem.substr(0, stem.find('.'))});
  }
  std::sort(cases.begin(), cases.end(),
            [](const Case& a, const Case& b) { return a.file < b.file; });
  return cases;
}

class SysrootMatrix : public ::testing::TestWithParam<Case> {};

TEST_P(SysrootMatrix, FindingsMatchTheReviewedList) {
  const Case& c = GetParam();
  std::ifstream in(kSysroots / "expected" / c.file);
  ProbeContext context;
  context.identity = {0, {0}, "root"};
  std::vector<std::string> expected;
  std::set<std::string> only;
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("# only:")) {
      std::istringstream words(line.substr(7));
      for (std::string w; words >> w;) only.insert(w);
    }
    if (line.starts_with("# devices:")) {
      std::istringstream words(line.substr(10));
      for (std::string d; words >> d;) context.devices.push_back(d);
    } else if (line == "# guest") {
      context.guest = true;
    } else if (!line.empty() && line[0] != '#') {
      expected.push_back(line);
    }
  }
  testing::Sysroot root(c.sysroot);
  ASSERT_TRUE(root.ok()) << c.sysroot;
  auto host = Host::Open(root.runtime(), root.config());
  ASSERT_TRUE(host.has_value());
  std::vector<std::string> actual;
  for (const auto& probe : MakeAllProbes()) {
    if (context.guest != (probe->Name() == "guest")) continue;
    if (!only.empty() && !only.contains(std::string(probe->Name()))) continue;
    for (const auto& v : testing::Verdicts(probe->Run(*host, context))) actual.push_back(v);
  }
  EXPECT_EQ(actual, expected) << "tests/sysroots/expected/" << c.file;
}

INSTANTIATE_TEST_SUITE_P(Captured, SysrootMatrix, ::testing::ValuesIn(Cases()),
                         [](const auto& info) {
                           std::string n = info.param.file.substr(0, info.param.file.size() - 4);
                           for (char& ch : n) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return n;
                         });

TEST(SysrootMatrixCoverage, EveryCaptureHasAReviewedList) {
  std::set<std::string> covered;
  for (const auto& c : Cases()) covered.insert(c.sysroot);
  for (const auto& e : fs::directory_iterator(kSysroots)) {
    std::string name = e.path().filename().string();
    if (!name.ends_with(".tar.xz")) continue;
    EXPECT_TRUE(covered.contains(name.substr(0, name.size() - 7)))
        << name << " has no expected list";
  }
}

}  // namespace
}  // namespace vmprep
