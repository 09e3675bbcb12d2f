// Parsers for IOMMU-group listings and lspci outputs as users capture and paste them, into the
// Topology model (system/topology.h). Pure: they take the text and the name to quote in
// errors; reading the file is the caller's business (through the Host seam).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "system/topology.h"

namespace vmprep {

/// Why a line of a listing was not data. Only these lines are skipped; any other line that
/// is not understood is an error with its line number.
enum class SkipReason {
  kBlank,
  kShellPrompt,    // "user@host:~$ cmd", "[root@box ~]# cmd", "alex@duo > cmd", and the
                   // continuation line of a prompt line ending in '\'
  kComment,        // a line starting with '#' (not a "### Group N ###" header)
  kKernelCmdline,  // a /proc/cmdline line (starts with "BOOT_IMAGE=")
  kDmesg,          // a "[   0.123] ..." kernel log line that is not a group assignment
  kUsbDevice,      // "USB:" rows of the iommu.sh gist: USB devices, not PCI functions
  kDmarUnit,       // "IOMMU: dmarN" heading of the per-DMAR tree
};
std::string_view SkipReasonName(SkipReason reason);

struct SkippedLine {
  int line = 0;
  SkipReason reason = SkipReason::kBlank;
};

/// One capture of the groups. A file normally holds one; a history file can hold several.
struct IommuSnapshot {
  int first_line = 0;          // line of the first device of this snapshot
  std::string heading;         // last '#' comment before it ("#Ryzen 5 1600"), else empty
  std::string kernel_cmdline;  // from a BOOT_IMAGE= line or dmesg "Kernel command line:"
  Topology topology;
};

struct IommuListing {
  // In file order. A shell prompt or a '#' comment after devices were seen starts a new
  // snapshot: every capture keeps its own topology and none is guessed to be "the" current
  // one (file order says nothing about which capture is newest).
  std::vector<IommuSnapshot> snapshots;
  std::vector<SkippedLine> skipped;
};

/// Parses an IOMMU-group listing. Formats understood (mixed freely, one device per line):
///   "IOMMU Group N:" / "IOMMU group N" / "IOMMU GROUP N" / "### Group N ###" headers
///     followed by indented lspci lines (optionally "(N) " before the address);
///   flat "IOMMU Group N bb:dd.f <lspci -nn line>";
///   the iommu.sh gist "Group N:  [vvvv:dddd] [R] bb:dd.f  Class  Name" with indented
///     continuation rows and "USB:" rows;
///   the per-DMAR tree "IOMMU: dmarN" / "IOMMU Group: N" / "Group Device: dddd:bb:dd.f - ..."
///     (repeated identical device rows are accepted once);
///   dmesg "pci dddd:bb:dd.f: Adding to iommu group N" and "iommu: Adding device dddd:bb:dd.f
///     to group N" (ids and class then come from merging an lspci listing).
/// Skipped lines are listed with their reason. Errors carry `file` and the line number.
std::expected<IommuListing, Error> ParseIommuListing(std::string_view text, std::string_view file);

/// The topology of a listing that holds exactly one snapshot; a history file with several is
/// an error naming their lines (use ParseIommuListing to choose).
std::expected<Topology, Error> ParseIommuTopology(std::string_view text, std::string_view file);

/// Parses one device row as lspci prints it after the address:
/// "VGA compatible controller [0300]: NVIDIA ... [10de:1401] (rev a1)" (with -nn) or
/// "VGA compatible controller: NVIDIA ..." (without). Fills class, ids and names of `device`.
/// A row cut short with "..." keeps what is left (the ids may then be unknown).
std::expected<void, std::string> ParseLspciRow(std::string_view row, PciDevice& device);

/// Parses lspci output: -nn, -k/-nnk ("Kernel driver in use:"), -q, -v and -vv records (one
/// unindented "bb:dd.f ..." line, then indented attribute lines, of which Subsystem, Kernel
/// driver in use and "Flags: ..., IOMMU group N" are used). Shell prompt and blank lines are
/// skipped. The result has no groups unless lspci -v printed them.
std::expected<Topology, Error> ParseLspci(std::string_view text, std::string_view file);

struct MergeReport {
  int merged = 0;                         // devices present in both that agreed
  std::vector<PciAddress> only_in_lspci;  // in the lspci output, not in the topology
  std::vector<PciAddress> only_in_topology;
  std::vector<std::string> conflicts;  // same address, different ids or class: not merged
};

/// Adds what lspci knows (driver, subsystem ids, and ids/class/names the topology lacks) to
/// devices at the same address. A device whose ids or class differ is a different card
/// (the listings were taken at different times): it is reported, not merged.
MergeReport MergeLspci(Topology& topology, const Topology& lspci);

}  // namespace vmprep
