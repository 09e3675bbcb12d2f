// Parses every IOMMU listing and lspci output of the shared corpus (tests/corpus/iommu,
// tests/corpus/lspci; provenance in corpus/PROVENANCE.md) and checks the counts, the
// isolation verdict of every GPU and the lspci merges against the tables in
// tests/data/iommu/ (counts.tsv, expected.tsv, lspci.tsv). A corpus file without a row, or
// a GPU without a row, fails.
#include "tests/support/iommu_listing.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/test_files.h"

namespace vmprep {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const fs::path kCorpus = vmprep::testing::CorpusDir();
const fs::path kData = fs::path(VMPREP_SOURCE_DIR) / "tests" / "data" / "iommu";

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Rows of a tab-separated table; '#' lines are comments.
std::vector<std::vector<std::string>> ReadTsv(const fs::path& path, std::size_t columns) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(ReadFile(path));
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty() || line.starts_with('#')) continue;
    std::vector<std::string> fields;
    std::size_t start = 0;
    while (true) {
      std::size_t tab = line.find('\t', start);
      fields.push_back(line.substr(start, tab - start));
      if (tab == std::string::npos) break;
      start = tab + 1;
    }
    EXPECT_EQ(fields.size(), columns) << path << ":" << number;
    if (fields.size() == columns) rows.push_back(fields);
  }
  return rows;
}

std::set<std::string> FilesIn(const fs::path& dir) {
  std::set<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file()) files.insert(entry.path().filename().string());
  }
  return files;
}

IommuListing ParseCorpusListing(const std::string& name) {
  auto listing = ParseIommuListing(ReadFile(kCorpus / "iommu" / name), name);
  EXPECT_TRUE(listing.has_value()) << (listing ? "" : listing.error().ToString());
  return listing.value_or(IommuListing{});
}

TEST(IommuCorpusTest, CorpusIsPresent) {
  // Not a skip: without the corpus every test below would prove nothing.
  ASSERT_TRUE(fs::is_directory(kCorpus / "iommu")) << kCorpus;
  ASSERT_TRUE(fs::is_directory(kCorpus / "lspci")) << kCorpus;
  EXPECT_EQ(FilesIn(kCorpus / "iommu").size(), 33u);
  EXPECT_EQ(FilesIn(kCorpus / "lspci").size(), 10u);
}

TEST(IommuCorpusTest, EveryListingParsesWithTheCountedGroupsAndDevices) {
  std::map<std::string, std::vector<std::vector<std::string>>> expected;
  for (auto& row : ReadTsv(kData / "counts.tsv", 6)) expected[row[0]].push_back(row);
  std::set<std::string> files = FilesIn(kCorpus / "iommu");
  for (const auto& [name, rows] : expected) {
    EXPECT_TRUE(files.contains(name)) << "counts.tsv names a missing file " << name;
  }
  for (const std::string& name : files) {
    SCOPED_TRACE(name);
    if (!expected.contains(name)) {
      ADD_FAILURE() << "new corpus file without a row in counts.tsv";
      continue;
    }
    IommuListing listing = ParseCorpusListing(name);
    const auto& rows = expected.at(name);
    ASSERT_EQ(listing.snapshots.size(), rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
      SCOPED_TRACE("snapshot " + rows[i][1]);
      const IommuSnapshot& snapshot = listing.snapshots[i];
      EXPECT_EQ(std::to_string(i + 1), rows[i][1]);
      EXPECT_EQ(snapshot.first_line, std::stoi(rows[i][2]));
      EXPECT_EQ(snapshot.topology.group_count(), std::stoul(rows[i][3]));
      EXPECT_EQ(snapshot.topology.device_count(), std::stoul(rows[i][4]));
      EXPECT_EQ(snapshot.heading.empty() ? "-" : snapshot.heading, rows[i][5]);
      for (const auto& [address, device] : snapshot.topology.devices()) {
        EXPECT_GE(device.iommu_group, 0) << address.ToString();
        // Every corpus listing gives a class: a number, a name, or (dmesg) the enumeration.
        EXPECT_TRUE(device.class_code.has_value()) << address.ToString();
      }
    }
  }
}

TEST(IommuCorpusTest, EveryGpuHasTheExpectedVerdict) {
  // Key: file, snapshot, gpu.
  std::map<std::tuple<std::string, std::string, std::string>, std::vector<std::string>> rows;
  for (auto& row : ReadTsv(kData / "expected.tsv", 6)) {
    auto key = std::make_tuple(row[0], row[1], row[2]);
    EXPECT_FALSE(rows.contains(key)) << "duplicate row " << row[0] << " " << row[2];
    rows[key] = row;
  }
  std::set<std::tuple<std::string, std::string, std::string>> seen;
  for (const std::string& name : FilesIn(kCorpus / "iommu")) {
    SCOPED_TRACE(name);
    IommuListing listing = ParseCorpusListing(name);
    for (std::size_t i = 0; i < listing.snapshots.size(); ++i) {
      Topology topology = listing.snapshots[i].topology;
      for (const PciDevice* gpu : topology.Displays()) {
        auto key = std::make_tuple(name, std::to_string(i + 1), gpu->address.ShortString());
        SCOPED_TRACE(std::get<2>(key));
        if (!rows.contains(key)) {
          ADD_FAILURE() << "GPU without a row in expected.tsv";
          continue;
        }
        seen.insert(key);
        const auto& row = rows.at(key);
        Topology judged = topology;
        if (row[3] != "-") {
          auto lspci = ParseLspci(ReadFile(kCorpus / "lspci" / row[3]), row[3]);
          ASSERT_TRUE(lspci.has_value()) << lspci.error().ToString();
          MergeLspci(judged, *lspci);
        }
        IsolationVerdict verdict =
            JudgeIsolation(judged, gpu->address, PresumeHostNeeds(judged, gpu->address));
        EXPECT_TRUE(IsolationFromName(row[4]).has_value()) << "unknown verdict " << row[4];
        EXPECT_EQ(IsolationName(verdict.isolation), row[4]) << verdict.Summary();
        // The reason must be about this group and name every host device in it.
        const std::string& reason = row[5];
        EXPECT_THAT(reason, HasSubstr("group " + std::to_string(verdict.group)));
        for (const GroupMember* member : verdict.WithRole(MemberRole::kHostNeeded)) {
          EXPECT_THAT(reason, HasSubstr(member->device.address.ShortString()));
        }
        for (const GroupMember* member : verdict.WithRole(MemberRole::kOtherEndpoint)) {
          EXPECT_THAT(reason, HasSubstr(member->device.address.ShortString()));
        }
      }
    }
  }
  for (const auto& [key, row] : rows) {
    EXPECT_TRUE(seen.contains(key))
        << "expected.tsv row for a GPU the listing does not have: " << std::get<0>(key) << " "
        << std::get<2>(key);
  }
}

TEST(IommuCorpusTest, EveryLspciOutputParsesAndMergesWithItsListing) {
  std::map<std::string, std::vector<std::string>> rows;
  for (auto& row : ReadTsv(kData / "lspci.tsv", 8)) rows[row[0]] = row;
  for (const std::string& name : FilesIn(kCorpus / "lspci")) {
    SCOPED_TRACE(name);
    if (!rows.contains(name)) {
      ADD_FAILURE() << "new lspci file without a row in lspci.tsv";
      continue;
    }
    const auto& row = rows.at(name);
    auto lspci = ParseLspci(ReadFile(kCorpus / "lspci" / name), name);
    ASSERT_TRUE(lspci.has_value()) << lspci.error().ToString();
    EXPECT_EQ(lspci->device_count(), std::stoul(row[1]));
    std::size_t drivers = 0;
    for (const auto& [address, device] : lspci->devices()) {
      drivers += device.driver.empty() ? 0 : 1;
      EXPECT_TRUE(device.class_code.has_value()) << address.ToString();
    }
    EXPECT_EQ(drivers, std::stoul(row[2]));
    auto topology = ParseIommuTopology(ReadFile(kCorpus / "iommu" / row[3]), row[3]);
    ASSERT_TRUE(topology.has_value()) << topology.error().ToString();
    MergeReport report = MergeLspci(*topology, *lspci);
    EXPECT_EQ(report.merged, std::stoi(row[4]));
    EXPECT_EQ(report.only_in_lspci.size(), std::stoul(row[5]));
    EXPECT_EQ(report.only_in_topology.size(), std::stoul(row[6]));
    EXPECT_EQ(report.conflicts.size(), std::stoul(row[7]));
  }
}

// --- Specific files: what the tables cannot say. ---

TEST(IommuListingTest, MergedDriversShowWhichGpuIsOnVfio) {
  const std::string name = "city-17-nix_asus-z690-alderlake_rx6700xt_rx560.txt";
  auto topology = ParseIommuTopology(ReadFile(kCorpus / "iommu" / name), name);
  ASSERT_TRUE(topology.has_value());
  const std::string lspci_name = "city-17-nix_asus-z690-alderlake_lspci-nnk.txt";
  auto lspci = ParseLspci(ReadFile(kCorpus / "lspci" / lspci_name), lspci_name);
  ASSERT_TRUE(lspci.has_value());
  MergeLspci(*topology, *lspci);
  const PciDevice* rx560 = topology->Find(*PciAddress::Parse("04:00.0"));
  ASSERT_NE(rx560, nullptr);
  EXPECT_EQ(rx560->driver, "vfio-pci");
  EXPECT_EQ(topology->Find(*PciAddress::Parse("03:00.0"))->driver, "amdgpu");
  EXPECT_EQ(topology->Find(*PciAddress::Parse("00:02.0"))->driver, "i915");
  EXPECT_EQ(topology->Find(*PciAddress::Parse("00:02.0"))->subsystem_vendor_id, 0x1043);
}

TEST(IommuListingTest, MovedCardsAreNotMergedByAddress) {
  // The lspci -v was taken after a USB card shifted the buses: 0a:00.0 is the RX 570 in the
  // listing and the GTX 1080 in lspci (no ids in plain -v output, the names differ).
  const std::string name = "turducken_x570-matisse_acs-override_rx570_gtx1080.txt";
  auto topology = ParseIommuTopology(ReadFile(kCorpus / "iommu" / name), name);
  ASSERT_TRUE(topology.has_value());
  const std::string lspci_name = "turducken_x570-matisse_lspci-v_post-usb.txt";
  auto lspci = ParseLspci(ReadFile(kCorpus / "lspci" / lspci_name), lspci_name);
  ASSERT_TRUE(lspci.has_value());
  MergeReport report = MergeLspci(*topology, *lspci);
  bool gpu_conflict = false;
  for (const std::string& conflict : report.conflicts) {
    if (conflict.starts_with("0000:0a:00.0:")) gpu_conflict = true;
  }
  EXPECT_TRUE(gpu_conflict);
  EXPECT_THAT(topology->Find(*PciAddress::Parse("0a:00.0"))->description, HasSubstr("Ellesmere"));
}

TEST(IommuListingTest, SkippedLinesAreExactlyThePromptsCommentsAndCmdline) {
  const std::string name = "duo_asrock-z370m-itx-ac_coffeelake_gt1030.txt";
  IommuListing listing = ParseCorpusListing(name);
  ASSERT_EQ(listing.skipped.size(), 3u);
  EXPECT_EQ(listing.skipped[0].line, 1);
  EXPECT_EQ(listing.skipped[0].reason, SkipReason::kShellPrompt);
  EXPECT_EQ(listing.skipped[1].line, 2);  // continuation of the prompt's trailing backslash
  EXPECT_EQ(listing.skipped[1].reason, SkipReason::kShellPrompt);
  EXPECT_EQ(listing.skipped[2].line, 3);
  EXPECT_EQ(listing.skipped[2].reason, SkipReason::kKernelCmdline);
  EXPECT_THAT(listing.snapshots.at(0).kernel_cmdline, HasSubstr("BOOT_IMAGE=/boot/vmlinuz-6.8"));

  IommuListing history =
      ParseCorpusListing("vvorth_msi-mpg-b550-gaming-plus_multi-snapshot-history.txt");
  std::map<SkipReason, int> counts;
  for (const SkippedLine& skipped : history.skipped) counts[skipped.reason]++;
  EXPECT_EQ(counts[SkipReason::kComment], 7);
  EXPECT_EQ(counts[SkipReason::kShellPrompt], 7);
  EXPECT_EQ(counts[SkipReason::kBlank], 37);
  EXPECT_EQ(history.skipped.size(), 51u);
}

TEST(IommuListingTest, HistoryFileIsRefusedAsASingleTopology) {
  const std::string name = "vvorth_msi-mpg-b550-gaming-plus_multi-snapshot-history.txt";
  auto topology = ParseIommuTopology(ReadFile(kCorpus / "iommu" / name), name);
  ASSERT_FALSE(topology.has_value());
  EXPECT_THAT(topology.error().ToString(), HasSubstr("holds 6 captures"));
  EXPECT_THAT(topology.error().ToString(), HasSubstr("4, 68, 114, 159, 207, 256"));
}

TEST(IommuListingTest, DmesgGivesGroupsIdsClassAndTheAcsOverride) {
  IommuListing listing =
      ParseCorpusListing("gammaman88_ryzen5-5700u-mini-nas_dmesg-iommu-groups.txt");
  ASSERT_EQ(listing.snapshots.size(), 1u);
  const IommuSnapshot& snapshot = listing.snapshots[0];
  EXPECT_THAT(snapshot.kernel_cmdline, HasSubstr("pcie_acs_override=downstream"));
  const PciDevice* igpu = snapshot.topology.Find(*PciAddress::Parse("05:00.0"));
  ASSERT_NE(igpu, nullptr);
  EXPECT_EQ(igpu->iommu_group, 15);
  EXPECT_EQ(igpu->vendor_id, 0x1002);
  EXPECT_EQ(igpu->device_id, 0x164c);
  EXPECT_EQ(igpu->class_code, 0x030000u);
}

TEST(IommuListingTest, PerDmarTreeDuplicatesCountOnce) {
  IommuListing listing =
      ParseCorpusListing("ethanzhf_intel-xeon-sapphire-rapids-class-server_per-dmar-tree.txt");
  ASSERT_EQ(listing.snapshots.size(), 1u);
  const Topology& topology = listing.snapshots[0].topology;
  EXPECT_EQ(topology.GroupMembers(461).size(), 8u);  // ff:1e.0-7, each printed 8 times
  std::map<SkipReason, int> counts;
  for (const SkippedLine& skipped : listing.skipped) counts[skipped.reason]++;
  EXPECT_EQ(counts[SkipReason::kDmarUnit], 20);
}

TEST(IommuListingTest, TruncatedLineKeepsClassAndVendor) {
  IommuListing listing = ParseCorpusListing("msi-b450m-mortar-max_gtx960_hd7450.txt");
  const PciDevice* audio = listing.snapshots.at(0).topology.Find(*PciAddress::Parse("25:00.1"));
  ASSERT_NE(audio, nullptr);
  EXPECT_EQ(audio->class_code, 0x040300u);
  EXPECT_EQ(audio->vendor_id, 0x1002);
  EXPECT_FALSE(audio->device_id.has_value());
  EXPECT_EQ(audio->iommu_group, 11);
}

TEST(IommuListingTest, GistFormatUsesClassNamesAndSkipsUsbRows) {
  IommuListing listing = ParseCorpusListing("anaconda_intel-b560-tigerlake-h_rx7600.txt");
  const Topology& topology = listing.snapshots.at(0).topology;
  const PciDevice* sram = topology.Find(*PciAddress::Parse("00:14.2"));
  ASSERT_NE(sram, nullptr);
  EXPECT_EQ(sram->iommu_group, 3);  // continuation row after "USB:" rows of group 3
  EXPECT_EQ(sram->class_code, 0x050000u);
  EXPECT_EQ(sram->description, "Tiger Lake-H Shared SRAM");
  EXPECT_EQ(topology.Find(*PciAddress::Parse("01:00.0"))->class_code, 0x060400u);
}

TEST(IommuListingTest, FiveDigitDomainsAndShortAddressesBothParse) {
  std::string text =
      "IOMMU Group 3 10000:e1:00.0 Non-Volatile memory controller [0108]: Samsung "
      "Electronics Co Ltd NVMe SSD Controller PM9A1/PM9A3/980PRO [144d:a80a]\n"
      "IOMMU Group 4 01:00.0 VGA compatible controller [0300]: NVIDIA Corporation GA106 "
      "[10de:2504] (rev a1) (prog-if 00 [VGA controller])\n";
  auto topology = ParseIommuTopology(text, "vmd.txt");
  ASSERT_TRUE(topology.has_value()) << topology.error().ToString();
  const PciDevice* nvme = topology->Find(*PciAddress::Parse("10000:e1:00.0"));
  ASSERT_NE(nvme, nullptr);
  EXPECT_EQ(nvme->device_id, 0xa80a);
  EXPECT_EQ(topology->Find(*PciAddress::Parse("01:00.0"))->description, "NVIDIA Corporation GA106");
}

TEST(IommuListingTest, ErrorsNameFileLineAndExpectation) {
  auto garbage = ParseIommuListing(
      "IOMMU Group 0:\n\t00:00.0 Host bridge [0600]: Intel [8086:1234]\nthis is prose\n",
      "mine.txt");
  ASSERT_FALSE(garbage.has_value());
  EXPECT_EQ(garbage.error().path, "mine.txt");
  EXPECT_EQ(garbage.error().line, 3);
  EXPECT_THAT(garbage.error().message, HasSubstr("\"this is prose\""));
  EXPECT_THAT(garbage.error().message, HasSubstr("expected an IOMMU group header"));

  auto orphan = ParseIommuListing("\t01:00.0 VGA compatible controller [0300]: X [1:2]\n", "o");
  ASSERT_FALSE(orphan.has_value());
  EXPECT_EQ(orphan.error().line, 1);
  EXPECT_THAT(orphan.error().message, HasSubstr("before any IOMMU group header"));

  auto mismatch = ParseIommuListing("IOMMU GROUP 2\n (3) 00:01.0 PCI bridge [0604]: AMD\n", "z");
  ASSERT_FALSE(mismatch.has_value());
  EXPECT_EQ(mismatch.error().line, 2);
  EXPECT_THAT(mismatch.error().message, HasSubstr("group (3) under the header of group 2"));

  auto conflicting = ParseIommuListing(
      "IOMMU Group 1 01:00.0 VGA compatible controller [0300]: A [10de:0001]\n"
      "IOMMU Group 2 01:00.0 VGA compatible controller [0300]: A [10de:0001]\n",
      "c");
  ASSERT_FALSE(conflicting.has_value());
  EXPECT_EQ(conflicting.error().line, 2);

  auto unknown_class = ParseIommuListing("IOMMU Group 1 01:00.0 Flux capacitor: Doc Brown\n", "u");
  ASSERT_FALSE(unknown_class.has_value());
  EXPECT_THAT(unknown_class.error().message, HasSubstr("unknown device class"));

  auto empty = ParseIommuListing("user@host:~$ ls\n\n", "e");
  ASSERT_FALSE(empty.has_value());
  EXPECT_THAT(empty.error().message, HasSubstr("no IOMMU group listing"));

  auto lspci = ParseLspci("00:00.0 Host bridge [0600]: X [8086:0001]\nnot lspci\n", "l.txt");
  ASSERT_FALSE(lspci.has_value());
  EXPECT_EQ(lspci.error().ToString().substr(0, 8), "l.txt:2:");
}

TEST(LspciTest, FlagsLineOfRootLspciVGivesTheGroup) {
  auto topology = ParseLspci(
      "01:00.0 VGA compatible controller: NVIDIA Corporation GP104 [GeForce GTX 1080] (rev a1) "
      "(prog-if 00 [VGA controller])\n"
      "\tFlags: bus master, fast devsel, latency 0, IRQ 95, IOMMU group 14\n"
      "\tKernel driver in use: vfio-pci\n",
      "v.txt");
  ASSERT_TRUE(topology.has_value()) << topology.error().ToString();
  const PciDevice* gpu = topology->Find(*PciAddress::Parse("01:00.0"));
  ASSERT_NE(gpu, nullptr);
  EXPECT_EQ(gpu->iommu_group, 14);
  EXPECT_EQ(gpu->driver, "vfio-pci");
  EXPECT_EQ(gpu->class_code, 0x030000u);
  EXPECT_EQ(gpu->description, "NVIDIA Corporation GP104 [GeForce GTX 1080]");
}

}  // namespace
}  // namespace vmprep
