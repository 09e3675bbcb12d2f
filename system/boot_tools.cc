/// The regenerate commands for GRUB, kernel-install, mkinitcpio UKIs and Proxmox.
#include "system/boot_tools.h"

#include <fmt/format.h>

#include "core/paths.h"
#include "core/text.h"

namespace vmprep {
namespace {

// Whether the tool's own text mentions `what` (an option it understands).
bool ToolMentions(const Host& host, const std::string& path, std::string_view what) {
  auto text = host.Read(Root::kConfig, path, 64u << 20);
  return text && text->find(what) != std::string::npos;
}

// Whether a mkinitcpio preset builds unified kernel images (a `_uki=` line).
bool MkinitcpioBuildsUkis(const Host& host) {
  auto presets = host.List(Root::kConfig, "/etc/mkinitcpio.d");
  if (!presets) return false;
  for (const auto& p : *presets) {
    if (!p.ends_with(".preset")) continue;
    auto text = host.Read(Root::kConfig, "/etc/mkinitcpio.d/" + p);
    if (!text) continue;
    for (auto line : SplitLines(*text)) {
      auto t = Trim(line);
      if (!t.starts_with("#") && t.find("_uki=") != std::string_view::npos) return true;
    }
  }
  return false;
}

}  // namespace

std::expected<std::optional<std::string>, Error> FindConfigTool(const Host& host,
                                                                std::string_view name) {
  for (std::string_view dir : {"/usr/sbin/", "/usr/bin/", "/sbin/", "/bin/"}) {
    std::string path = std::string(dir) + std::string(name);
    auto exists = CheckExists(host, Root::kConfig, path);
    if (!exists) return std::unexpected(exists.error());
    if (!*exists) continue;
    auto info = host.Stat(Root::kConfig, path);
    if (info && info->type == FileType::kRegular) return path;
  }
  return std::optional<std::string>();
}

std::expected<GrubMenuCommand, Error> GrubMenu(const Host& host, bool bls) {
  auto mkconfig2 = FindConfigTool(host, "grub2-mkconfig");
  if (!mkconfig2) return std::unexpected(mkconfig2.error());
  if (bls) {
    std::string mk = mkconfig2->value_or("grub2-mkconfig");
    if (*mkconfig2 && ToolMentions(host, **mkconfig2, "--update-bls-cmdline")) {
      return GrubMenuCommand{{{mk, "-o", "/boot/grub2/grub.cfg", "--update-bls-cmdline"},
                              "GRUB_ENABLE_BLSCFG=true: the boot entries keep their own "
                              "options; this grub2-mkconfig knows --update-bls-cmdline and "
                              "copies the new ones into them"},
                             true};
    }
    return GrubMenuCommand{{{mk, "-o", "/boot/grub2/grub.cfg"}, "regenerate the GRUB menu"}, false};
  }
  auto update_grub = FindConfigTool(host, "update-grub");
  if (!update_grub) return std::unexpected(update_grub.error());
  if (*update_grub) {
    return GrubMenuCommand{
        {{**update_grub}, "Debian/Ubuntu: update-grub regenerates /boot/grub/grub.cfg"}};
  }
  auto mkconfig = FindConfigTool(host, "grub-mkconfig");
  if (!mkconfig) return std::unexpected(mkconfig.error());
  if (*mkconfig) {
    return GrubMenuCommand{{{**mkconfig, "-o", "/boot/grub/grub.cfg"}, "regenerate the GRUB menu"}};
  }
  auto grub2 = CheckExists(host, Root::kConfig, "/boot/grub2");
  if (!grub2) return std::unexpected(grub2.error());
  if (*mkconfig2 || *grub2) {
    // /boot/grub2/grub.cfg, never the ESP stub (/boot/efi/EFI/<distro>/grub.cfg) that only
    // chains to it.
    return GrubMenuCommand{{{mkconfig2->value_or("grub2-mkconfig"), "-o", "/boot/grub2/grub.cfg"},
                            "regenerate the GRUB menu (Fedora-style /boot/grub2)"}};
  }
  return GrubMenuCommand{{{"grub-mkconfig", "-o", "/boot/grub/grub.cfg"},
                          "regenerate the GRUB menu (no update-grub or grub-mkconfig found in "
                          "the config root)"}};
}

std::expected<std::vector<BootCommand>, Error> KernelInstallCommands(const Host& host,
                                                                     std::string_view source,
                                                                     std::string* note) {
  std::vector<BootCommand> out;
  // Proxmox keeps /etc/kernel/cmdline for the ESPs proxmox-boot-tool manages.
  auto proxmox = ProxmoxRefresh(host);
  if (!proxmox) return std::unexpected(proxmox.error());
  if (*proxmox) {
    out.push_back(**proxmox);
    return out;
  }
  const bool uki = MkinitcpioBuildsUkis(host);
  auto mkinitcpio = FindConfigTool(host, "mkinitcpio");
  if (!mkinitcpio) return std::unexpected(mkinitcpio.error());
  if (*mkinitcpio && (uki || source == "/etc/cmdline.d")) {
    out.push_back({{**mkinitcpio, "-P"},
                   fmt::format("mkinitcpio builds unified kernel images with the command line "
                               "from {} (a preset sets _uki=)",
                               source)});
    return out;
  }
  auto ki = FindConfigTool(host, "kernel-install");
  if (!ki) return std::unexpected(ki.error());
  bool loader = false;
  for (std::string_view d : {"/boot/loader/entries", "/efi/loader/entries",
                             "/boot/efi/loader/entries", "/etc/kernel/install.conf"}) {
    auto exists = CheckExists(host, Root::kConfig, d);
    if (!exists) return std::unexpected(exists.error());
    loader |= *exists;
  }
  if (*ki && (loader || uki)) {
    if (ToolMentions(host, **ki, "add-all")) {
      out.push_back({{**ki, "add-all"},
                     fmt::format("kernel-install copies {} into every installed kernel's "
                                 "entry or UKI",
                                 source)});
      return out;
    }
    // Older kernel-install (systemd < 255) has no add-all: one `add` per kernel.
    if (auto kernels = host.List(Root::kConfig, "/usr/lib/modules")) {
      for (const auto& k : *kernels) {
        std::string image = "/usr/lib/modules/" + k + "/vmlinuz";
        if (host.Exists(Root::kConfig, image))
          out.push_back(
              {{**ki, "add", k, image},
               fmt::format("kernel-install rewrites kernel {}'s entry from {}", k, source)});
      }
    }
    return out;
  }
  if (note) {
    *note = fmt::format(
        "{} changed, but neither mkinitcpio with a UKI preset nor kernel-install with a boot "
        "loader layout was found: regenerate the boot entries or UKIs that read it",
        source);
  }
  return out;
}

std::expected<std::optional<BootCommand>, Error> ProxmoxRefresh(const Host& host) {
  auto tool = FindConfigTool(host, "proxmox-boot-tool");
  if (!tool) return std::unexpected(tool.error());
  if (!*tool) return std::optional<BootCommand>();
  return std::optional<BootCommand>(
      BootCommand{{**tool, "refresh"},
                  "Proxmox: proxmox-boot-tool copies the kernels, initramfs images and command "
                  "line onto every ESP it manages"});
}

}  // namespace vmprep
