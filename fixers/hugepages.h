/// The hugepages fixer: validates the asked reservation against the machine
/// (memory left to the host, the pdpe1gb CPU flag for 1 GiB pages) and makes a
/// hugetlbfs mount of that size exist. VMs backed by hugepages need both. The
/// reservation itself (default_hugepagesz= hugepagesz= hugepages=) goes on the
/// kernel command line, planned by the kernel-cmdline fixer through
/// HugepagesCmdlineChange, because that fixer owns every command-line file.
#pragma once

#include <expected>
#include <memory>
#include <string>

#include "core/error.h"
#include "core/host.h"
#include "fixers/edit.h"
#include "fixers/fixer.h"
#include "fixers/kernel_cmdline.h"

namespace vmprep {

// Refuses a reservation this machine cannot take: page size other than 2048 or
// 1048576 kB, count 0, 1 GiB pages without the pdpe1gb CPU flag, or a total
// that would leave the host less than max(2 GiB, 10% of MemTotal).
std::expected<void, Error> ValidateHugepages(const Host& host, const FixerOptions::Hugepages& h);

// The command-line tokens of the reservation ("default_hugepagesz=1G
// hugepagesz=1G hugepages=8") as an ordered group, after ValidateHugepages.
std::expected<CmdlineChange, Error> HugepagesCmdlineChange(const Host& host,
                                                           const FixerOptions::Hugepages& h);

// systemd/dev-hugepages1G.mount, as installed into /etc/systemd/system.
extern const std::string_view kHugepages1GMountUnit;

class HugepagesFixer : public Fixer {
 public:
  std::string_view Id() const override;
  std::string_view Description() const override;
  std::expected<EditSet, Error> Plan(const Host& host, const FixerOptions& options) const override;
};

std::unique_ptr<Fixer> MakeHugepagesFixer();

}  // namespace vmprep
