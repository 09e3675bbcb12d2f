// vmsetup apply/undo --json for configuration-management tools: one vmprep.apply/1 document
// whatever the outcome, "changed" true when files were written or restored and false when
// there was nothing to do (both exit 0), post-action progress kept off stdout.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/run_command.h"
#include "tests/sysroot.h"
#include "tests/test_files.h"

namespace vmprep {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::Sysroot;

struct Outcome {
  int code = -1;
  nlohmann::json doc;
};

class VmsetupJson : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(root_.ok()); }
  Outcome Run(const std::string& args) {
    auto r = testing::RunCommand(std::string(VMSETUP_BINARY) + " " + args + " --runtime-root " +
                                 root_.runtime() + " --config-root " + root_.config() +
                                 " --json 2>/dev/null </dev/null");
    Outcome o{r.code, nlohmann::json::parse(r.out, nullptr, false)};
    EXPECT_FALSE(o.doc.is_discarded()) << "not one JSON document on stdout: " << r.out;
    return o;
  }
  Sysroot root_{"kvm-svm"};
};

TEST_F(VmsetupJson, ChangedTellsAppliedFromNothingToDo) {
  Outcome first = Run("apply --yes --enable vhost_net --no-regenerate");
  EXPECT_EQ(first.code, 0);
  EXPECT_EQ(first.doc["schema"], "vmprep.apply/1");
  EXPECT_EQ(first.doc["command"], "apply");
  EXPECT_EQ(first.doc["changed"], true);
  EXPECT_TRUE(first.doc["transaction"].is_string());
  EXPECT_THAT(first.doc["files"],
              ElementsAre("/etc/modules-load.d/vmprep.conf", "/var/lib/vmprep/expected.json"));
  EXPECT_EQ(first.doc["edits"][0]["fixer"], "modules-load");
  EXPECT_TRUE(first.doc["error"].is_null());
  EXPECT_EQ(testing::Slurp(fs::path(root_.config()) / "etc/modules-load.d/vmprep.conf"),
            "# Modules vmsetup loads at boot\nvhost_net\n");

  Outcome again = Run("apply --yes --enable vhost_net --no-regenerate");
  EXPECT_EQ(again.code, 0);
  EXPECT_EQ(again.doc["changed"], false);
  EXPECT_TRUE(again.doc["transaction"].is_null());
  EXPECT_TRUE(again.doc["files"].empty());

  Outcome undo = Run("undo --no-regenerate");
  EXPECT_EQ(undo.code, 0);
  EXPECT_EQ(undo.doc["command"], "undo");
  EXPECT_EQ(undo.doc["changed"], true);
  EXPECT_EQ(undo.doc["transaction"], first.doc["transaction"]);
  EXPECT_FALSE(fs::exists(fs::path(root_.config()) / "etc/modules-load.d/vmprep.conf"));

  Outcome nothing = Run("undo");
  EXPECT_EQ(nothing.code, 0);
  EXPECT_EQ(nothing.doc["changed"], false);
}

TEST_F(VmsetupJson, ErrorsAreInTheDocumentWithTheExitCode) {
  Outcome ask = Run("apply --enable vhost_net");  // --json never prompts
  EXPECT_EQ(ask.code, 3);
  EXPECT_EQ(ask.doc["exit_code"], 3);
  EXPECT_EQ(ask.doc["changed"], false);
  EXPECT_THAT(ask.doc["error"].get<std::string>(), HasSubstr("pass --yes"));
  Outcome unknown = Run("undo 20000101T000000Z-dead");
  EXPECT_NE(unknown.code, 0);
  EXPECT_EQ(unknown.doc["exit_code"], unknown.code);
  EXPECT_FALSE(unknown.doc["error"].is_null());
}

TEST_F(VmsetupJson, RefusalsAreInTheDocument) {
  // kvm-svm's config root has no kernel command line to edit.
  Outcome r = Run("apply --yes --enable iommu-pt");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.doc["changed"], false);
  ASSERT_EQ(r.doc["refusals"].size(), 1u);
  EXPECT_EQ(r.doc["refusals"][0]["fixer"], "kernel-cmdline");
}

// Post-actions run after the files are written; their progress goes to stderr and their
// result into the document.
TEST(VmsetupJsonActions, PostActionsAreRecorded) {
  Sysroot root("intel-iommu");
  ASSERT_TRUE(root.ok());
  fs::path config = root.config();
  testing::Spill(config / "etc/default/grub",
                 testing::Corpus("grub/debian-12_grub2-common_2.06-13+deb12u2.grub"));
  testing::Spill(config / "usr/sbin/update-grub", "#!/bin/sh\n");
  fs::permissions(config / "usr/sbin/update-grub", fs::perms::owner_all);
  auto r = testing::RunCommand(std::string(VMSETUP_BINARY) + " apply --yes --json --enable iommu " +
                               "--no-regenerate --runtime-root " + root.runtime() +
                               " --config-root " + root.config() + " 2>/dev/null");
  ASSERT_EQ(r.code, 0) << r.out;
  auto doc = nlohmann::json::parse(r.out);  // stdout holds the document alone
  EXPECT_EQ(doc["changed"], true);
  EXPECT_THAT(doc["files"], ElementsAre("/etc/default/grub", "/var/lib/vmprep/expected.json"));
  ASSERT_EQ(doc["actions"].size(), 1u);
  EXPECT_THAT(doc["actions"][0]["argv"], ElementsAre("/usr/sbin/update-grub"));
  EXPECT_EQ(doc["actions"][0]["result"], "skipped");
}

}  // namespace
}  // namespace vmprep
