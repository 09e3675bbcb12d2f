// The commands that carry a changed configuration into what the machine boots: GRUB's menu,
// kernel-install's entries and UKIs, proxmox-boot-tool's ESPs, the initramfs generators.
// One home for the fixers' post-actions and the probes' "pending" hints, so vmcheck names
// exactly the command vmsetup would run.
#pragma once

#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/host.h"

namespace vmprep {

struct BootCommand {
  std::vector<std::string> argv;
  std::string why;
};

// The tool's path in the config root (/usr/sbin, /usr/bin, /sbin, /bin), nullopt when it is
// not installed, an Error when a directory cannot be read.
std::expected<std::optional<std::string>, Error> FindConfigTool(const Host& host,
                                                                std::string_view name);

// What rebuilds GRUB's menu after /etc/default/grub changed. `bls`: entries keep their own
// options (Fedora); `bls_update` is set when grub2-mkconfig can copy them
// (--update-bls-cmdline), else the caller must edit the entries (grubby).
struct GrubMenuCommand {
  BootCommand command;
  bool bls_update = false;
};
std::expected<GrubMenuCommand, Error> GrubMenu(const Host& host, bool bls);

// What carries /etc/kernel/cmdline or /etc/cmdline.d (`source`) into the boot entries or
// unified kernel images; empty with `note` set when nothing here does.
std::expected<std::vector<BootCommand>, Error> KernelInstallCommands(const Host& host,
                                                                     std::string_view source,
                                                                     std::string* note);

// `proxmox-boot-tool refresh` when the config root has it: Proxmox copies kernels, initramfs
// images and the command line onto every ESP it manages.
std::expected<std::optional<BootCommand>, Error> ProxmoxRefresh(const Host& host);

}  // namespace vmprep
