/// The kernel command-line fixer: adds intel_iommu=on (Intel only), iommu=pt
/// and vfio-pci.ids=, and removes amd_iommu=on (not a valid value) and no-op
/// iommu= values, wherever this system keeps its command line:
/// /etc/default/grub and grub.d/*.cfg, systemd-boot loader entries,
/// /etc/kernel/cmdline, /etc/cmdline.d/*.conf, kernelstub's configuration, or
/// rpm-ostree kargs. Passthrough needs the IOMMU on and the GPU claimed by
/// vfio-pci before its driver. The hugepages fixer plans its tokens through
/// PlanCmdlineTokens too.
#pragma once

#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/host.h"
#include "fixers/edit.h"
#include "fixers/fixer.h"
#include "formats/cmdline.h"

namespace vmprep {

// A token-level change to a kernel command line. Applied to each place the
// system keeps one; every part is idempotent, so an applied change plans
// nothing.
struct CmdlineChange {
  // Exact tokens to drop wherever they appear ("amd_iommu=on", "iommu=1").
  std::vector<std::string> remove_tokens;
  // Tokens to drop wherever they appear, chosen by a rule (system/iommu_rules.h).
  std::function<bool(std::string_view token)> remove_if;
  // Comma-list values: the winning token of `key` must hold every item of `add`
  // and none of `drop` ("intel_iommu": add on, drop off; "vfio-pci.ids").
  struct ListEdit {
    std::string key;
    std::vector<std::string> add;
    std::vector<std::string> drop;
  };
  std::vector<ListEdit> lists;
  // Tokens that must win for their key ("iommu=pt"); later duplicates are
  // dropped.
  std::vector<std::string> set;
  // Tokens whose order matters (hugepagesz=1G before hugepages=N): each key
  // must appear exactly once, in this order, or all tokens of these keys are
  // removed and the group appended. A key seen with two different values is a
  // refusal.
  std::vector<std::string> group;
  // One line for FileEdit::why (the site adds which file/variable and why).
  std::string why;
};

// Applies `change` to a command line split over `segments` (read in order, as
// the boot loader concatenates them); tokens that are absent are appended to
// segments[target]. Returns whether anything changed, or an error message.
std::expected<bool, std::string> ApplyCmdlineChange(std::vector<Cmdline>& segments, size_t target,
                                                    const CmdlineChange& change);

// Plans `change` for every place this system keeps its kernel command line (see
// the file comment), with the regenerate commands each needs. A file whose
// variable cannot be read (an expansion, a block) is an Error with file:line.
std::expected<EditSet, Error> PlanCmdlineTokens(const Host& host, const CmdlineChange& change,
                                                std::string_view fixer_id);

// The CmdlineChange for `options` on this machine (CPU vendor, PCI ids); notes
// explain what was left out (no vendor, identical devices bound by address).
std::expected<CmdlineChange, Error> CmdlineChangeForOptions(const Host& host,
                                                            const FixerOptions& options,
                                                            std::vector<std::string>* notes);

class CmdlineFixer : public Fixer {
 public:
  std::string_view Id() const override;
  std::string_view Description() const override;
  std::expected<EditSet, Error> Plan(const Host& host, const FixerOptions& options) const override;
};

std::unique_ptr<Fixer> MakeCmdlineFixer();

}  // namespace vmprep
