// Which format parser handles which corpus file, and which files are
// deliberately left alone (with the reason). corpus_test.cc fails when a corpus
// file is missing from this table, so a new file cannot be silently ignored.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "tests/test_files.h"

namespace vmprep::formats_test {

enum class Format { kShellVars, kModprobe, kXorg, kCmdline, kNotHandled };

struct CorpusFile {
  std::string_view path;  // relative to the corpus directory
  Format format;
  std::string_view why_not;  // for kNotHandled
};

// The directories the format layer is responsible for.
inline constexpr std::array<std::string_view, 8> kCorpusDirs = {
    "grub", "mkinitcpio",   "dracut",  "modprobe",
    "xorg", "systemd-boot", "booster", "initramfs-tools"};

inline constexpr std::string_view kModuleList =
    "a module list (one module per line, optional parameters), read by "
    "initramfs-tools / systemd-modules-load, not modprobe.d syntax";

inline const std::vector<CorpusFile>& CorpusTable() {
  using enum Format;
  static const std::vector<CorpusFile> table = {
      {"booster/manjaro_user-madhavpcm_booster.yaml", kNotHandled,
       "booster.yaml is YAML; no fixer edits booster yet"},
      {"dracut/debian-12_dracut-core_059-4_dracut.conf", kShellVars},
      {"dracut/endeavouros_iso-airootfs_dracut.conf.d_eos-defaults.conf", kShellVars},
      {"dracut/fedora_user-marcaurelecoste_dracut.conf.d_vfio.conf", kShellVars},
      {"dracut/fedora_user-p7cq_dracut.conf.d_vfio.conf", kShellVars},
      {"dracut/fedora_user-raro28_dracut.conf.d_vfio.conf", kShellVars},
      {"dracut/garuda_user-ozzyhelix_dracut.conf", kShellVars},
      {"dracut/garuda_user-ozzyhelix_dracut.conf.d_no-kernel-version.conf", kShellVars},
      {"dracut/garuda_user-ozzyhelix_dracut.conf.d_resume-from-hibernate.conf", kShellVars},
      {"dracut/garuda_user-ozzyhelix_dracut.conf.d_vfio.conf", kShellVars},
      {"dracut/manjaro_user-madhavpcm_dracut.conf.d_10-vfio.conf", kShellVars},
      {"dracut/upstream-dracut_dracut.conf.d_fedora.conf.example", kShellVars},
      {"dracut/upstream-dracut_dracut.conf.d_suse.conf.example", kShellVars},
      {"dracut/user-archivallegion_dracut.conf.oldman", kShellVars},
      {"dracut/user-schplorg-t480_dracut.conf.d_vfio.conf", kShellVars},
      {"dracut/void_user-cubik22_dracut.conf.d_custom.conf", kShellVars},
      {"grub/antergos_user-benwbooth_grub_acs-override", kShellVars},
      {"grub/arch-2014_user-4e6_grub_escaped-quotes", kShellVars},
      {"grub/arch_grub-package_svntogit-trunk_grub.default", kShellVars},
      {"grub/arch_user-alkeryn_grub", kShellVars},
      {"grub/arch_user-danrichardson_grub_acs-override", kShellVars},
      {"grub/arch_user-diamondbond_grub_intel-iommu", kShellVars},
      {"grub/arch_user-jimmjam_grub_multiline-continuations", kShellVars},
      {"grub/arch_user-matsto641_grub_trailing-space", kShellVars},
      {"grub/artix_user-dariotd_grub_trailing-comment", kShellVars},
      {"grub/cachyos_user-coolloong_grub_single-quotes", kShellVars},
      {"grub/debian-12_grub2-common_2.06-13+deb12u2.grub", kShellVars},
      {"grub/debian-xen_user-davizuco_grub", kShellVars},
      {"grub/elementaryos_user-joonaha_grub", kShellVars},
      {"grub/endeavouros_iso-airootfs_2022-10_grub", kShellVars},
      {"grub/fedora28_user-schplorg-t480_grub", kShellVars},
      {"grub/fedora_user-guru-25_grub", kShellVars},
      {"grub/fedora_user-marcaurelecoste_grub_fragment", kShellVars},
      {"grub/fedora_user-p7cq_etc-sysconfig-grub_rd-lvm", kShellVars},
      {"grub/garuda_user-ozzyhelix_grub_duplicate-timeout", kShellVars},
      {"grub/gentoo_user-haasn_grub", kShellVars},
      {"grub/manjaro_grub-package_2.04_grub.default", kShellVars},
      {"grub/manjaro_user-madhavpcm_grub_vfio-ids", kShellVars},
      {"grub/opensuse-tumbleweed_bootkitd-testdata_grub_full", kShellVars},
      {"grub/popos_default-settings_grub.d_pop-default-settings.cfg", kShellVars},
      {"grub/proxmox-zfs_user-andrei-paul_grub", kShellVars},
      {"grub/proxmox_user-dstait_grub_single-line-no-eol", kShellVars},
      {"grub/proxmox_user-gammaman88_grub_5700u", kShellVars},
      {"grub/proxmox_user-hackinthebox_grub", kShellVars},
      {"grub/proxmox_user-iroger-trx40_grub", kShellVars},
      {"grub/proxmox_user-spongeyperson_grub_long-cmdline", kShellVars},
      {"grub/ubuntu-22.04_cloudimg_grub", kShellVars},
      {"grub/ubuntu-22.04_cloudimg_grub.d_50-cloudimg-settings.cfg", kShellVars},
      {"grub/ubuntu-x570_user-smartperson_grub", kShellVars},
      {"grub/ubuntu_user-altagir_mining-rig_grub", kShellVars},
      {"grub/ubuntu_user-kchoudhu_grub_kvm-intel-nested", kShellVars},
      {"grub/ubuntu_user-relm_grub_vfio-ids-commented-alt", kShellVars},
      {"grub/ubuntu_user-yyu_grub_vfio-in-cmdline-linux", kShellVars},
      {"grub/user-archivallegion_grub_quoted-yn", kShellVars},
      {"grub/void_user-cubik22_grub_heavily-commented", kShellVars},
      {"initramfs-tools/"
       "debian-12_initramfs-tools-core_0.142+deb12u3_usr-share-template."
       "modules",
       kNotHandled, kModuleList},
      {"initramfs-tools/debian9_user-skeen_etc-initramfs-tools-modules", kNotHandled, kModuleList},
      {"initramfs-tools/debian9_user-skeen_hooks_vfio-pci-override", kNotHandled,
       "an initramfs-tools hook script (program, not configuration); we ship "
       "our own hook instead of editing users' scripts"},
      {"initramfs-tools/ubuntu-22.04_cloudimg_etc-initramfs-tools-modules", kNotHandled,
       kModuleList},
      {"initramfs-tools/ubuntu_user-kchoudhu_etc-initramfs-tools-modules_vfio", kNotHandled,
       kModuleList},
      {"initramfs-tools/ubuntu_user-relm_etc-initramfs-tools-modules_vfio", kNotHandled,
       kModuleList},
      {"mkinitcpio/antergos_user-benwbooth_mkinitcpio.conf_string-style-vfio", kShellVars},
      {"mkinitcpio/arch-2017_user-droserasprout_mkinitcpio.conf_string-systemd", kShellVars},
      {"mkinitcpio/arch-2018_user-haron-prime_mkinitcpio.conf_old-string-style", kShellVars},
      {"mkinitcpio/arch_mkinitcpio-v20_default_string-style.conf", kShellVars},
      {"mkinitcpio/arch_mkinitcpio-v30_default_array-style.conf", kShellVars},
      {"mkinitcpio/arch_mkinitcpio-v39.2_default.conf", kShellVars},
      {"mkinitcpio/arch_user-chloecdn_mkinitcpio.conf.btrfs_variant", kShellVars},
      {"mkinitcpio/arch_user-chloecdn_mkinitcpio.conf_systemd-hook-vfio", kShellVars},
      {"mkinitcpio/arch_user-danrichardson_mkinitcpio.conf_spaces-in-array", kShellVars},
      {"mkinitcpio/arch_user-danrichardson_mkinitcpio.d_linux-vfio.preset", kShellVars},
      {"mkinitcpio/arch_user-diamondbond_mkinitcpio.conf_i915", kShellVars},
      {"mkinitcpio/arch_user-edu4rdshl_mkinitcpio.conf_encrypt-lvm2", kShellVars},
      {"mkinitcpio/arch_user-kawing-chiu_mkinitcpio.conf_commented-vfio", kShellVars},
      {"mkinitcpio/arch_user-lennard0711_mkinitcpio.conf_duplicate-hook", kShellVars},
      {"mkinitcpio/arch_user-matsto641_mkinitcpio.conf_custom-hook", kShellVars},
      // /etc/cmdline.d/*.conf holds kernel parameters for a UKI.
      {"mkinitcpio/arch_user-sondrehusevold_etc-cmdline.d_hugepage.conf", kCmdline},
      {"mkinitcpio/arch_user-sondrehusevold_mkinitcpio.conf_vfio-minimal", kShellVars},
      {"mkinitcpio/arch_user-the-ashh_mkinitcpio.conf_vendor-reset", kShellVars},
      {"mkinitcpio/arch_user-vvorth_mkinitcpio.conf_dm-raid-vfio", kShellVars},
      {"mkinitcpio/artix_user-dariotd_mkinitcpio.conf", kShellVars},
      {"mkinitcpio/endeavouros_iso-airootfs_2023-01_mkinitcpio.conf", kShellVars},
      {"mkinitcpio/endeavouros_iso-airootfs_mkinitcpio.conf.d_archiso.conf", kShellVars},
      {"mkinitcpio/garuda_user-ozzyhelix_mkinitcpio.conf_dracut-coexist", kShellVars},
      {"mkinitcpio/manjaro_user-madhavpcm_mkinitcpio.conf_mixed-syntax", kShellVars},
      {"modprobe/bazzite_user-iubayb_modprobe.d_vfio.conf_dynamic", kModprobe},
      {"modprobe/debian-12_kmod_30_lib-modprobe.d-aliases.conf", kModprobe},
      {"modprobe/fedora_qemu-package_modprobe.d_kvm.conf", kModprobe},
      {"modprobe/popos_default-settings_modules-load.d_pop-modules.conf", kNotHandled, kModuleList},
      {"modprobe/proxmox_user-gammaman88_etc-modules", kNotHandled, kModuleList},
      {"modprobe/proxmox_user-iroger_etc-modules", kNotHandled, kModuleList},
      {"modprobe/proxmox_user-iroger_modprobe.d_blacklist.conf", kModprobe},
      {"modprobe/ubuntu-22.04_cloudimg_etc-modules", kNotHandled, kModuleList},
      {"modprobe/ubuntu-22.04_cloudimg_modprobe.d_blacklist-framebuffer.conf", kModprobe},
      {"modprobe/ubuntu_user-smartperson_etc-modules_params-on-one-line", kNotHandled, kModuleList},
      {"modprobe/ubuntu_user-smartperson_modprobe.d_qemu-system-x86.conf", kModprobe},
      {"modprobe/user-3xx0_modprobe.d_vfio.conf", kModprobe},
      {"modprobe/user-alkeryn_modprobe.d_blacklist.conf", kModprobe},
      {"modprobe/user-alkeryn_modprobe.d_mod.conf", kModprobe},
      {"modprobe/user-alkeryn_modprobe.d_vfio.conf", kModprobe},
      {"modprobe/user-andrei-paul_modprobe.d_passthrough.conf", kModprobe},
      {"modprobe/user-benwbooth_modprobe.d_nvidia-blacklist.conf", kModprobe},
      {"modprobe/user-benwbooth_modprobe.d_vfio.conf", kModprobe},
      {"modprobe/user-chloecdn_modprobe.d_vfio.conf_install-override", kModprobe},
      {"modprobe/user-danrichardson_modprobe.d_vfio.conf", kModprobe},
      {"modprobe/user-diamondbond_modprobe.d_kvm.conf", kModprobe},
      {"modprobe/user-droserasprout_modprobe.d_vfio.conf", kModprobe},
      {"modprobe/user-dstait_etc-modules", kNotHandled, kModuleList},
      {"modprobe/user-dstait_modprobe.d_blacklist.conf", kModprobe},
      {"modprobe/user-dstait_modprobe.d_iommu_unsafe_interrupts.conf", kModprobe},
      {"modprobe/user-dstait_modprobe.d_kvm.conf", kModprobe},
      {"modprobe/user-dstait_modprobe.d_vfio.conf", kModprobe},
      {"modprobe/user-edu4rdshl_modprobe.d_nvidia.conf", kModprobe},
      {"modprobe/user-gammaman88_modprobe.d_vfio.conf_igpu", kModprobe},
      {"modprobe/user-haasn_modprobe.d_vfio.conf", kModprobe},
      {"modprobe/user-hackinthebox_etc-modules", kNotHandled, kModuleList},
      {"modprobe/user-iroger-trx40_modprobe.d_vfio.conf_many-options-lines", kModprobe},
      {"modprobe/user-joonaha_etc-modules", kNotHandled, kModuleList},
      {"modprobe/user-joonaha_modprobe.d_kvm.conf", kModprobe},
      {"modprobe/user-joonaha_modprobe.d_vfio.conf", kModprobe},
      {"modprobe/user-kawing-chiu_modprobe.d_vfio.conf_commented", kModprobe},
      {"modprobe/user-kchoudhu_modprobe.d_vfio.conf", kModprobe},
      {"modprobe/user-lennard0711_modprobe.d_kvm.conf", kModprobe},
      {"modprobe/user-madhavpcm_modprobe.d_vfio.conf_wrong-param", kModprobe},
      {"modprobe/user-marcaurelecoste_modprobe.d_blacklist-nouveau.conf", kModprobe},
      {"modprobe/user-marcaurelecoste_modprobe.d_vfio.conf", kModprobe},
      {"modprobe/user-matsto641_modprobe.d_vfio.conf_modalias", kModprobe},
      {"modprobe/user-ozzyhelix_modprobe.d_kvm.conf", kModprobe},
      {"modprobe/user-ozzyhelix_modprobe.d_sev.conf", kModprobe},
      {"modprobe/user-ozzyhelix_modprobe.d_vfio-iommu-type1.conf", kModprobe},
      {"modprobe/user-ozzyhelix_modprobe.d_vfio.conf", kModprobe},
      {"modprobe/user-p7cq_modprobe.d_vfio.conf", kModprobe},
      {"modprobe/user-relm_modprobe.d_blacklist-nvidia.conf", kModprobe},
      {"modprobe/user-schplorg-t480_modprobe.d_vfion.conf", kModprobe},
      {"modprobe/user-skeen_modprobe.d_vfio.conf_install-override", kModprobe},
      {"modprobe/user-smartperson_modprobe.d_kvm.conf", kModprobe},
      {"modprobe/user-smartperson_modprobe.d_vfio.conf_typo", kModprobe},
      {"modprobe/user-sondrehusevold_modprobe.d_iommu.conf", kModprobe},
      {"modprobe/user-sondrehusevold_modprobe.d_kvm.conf", kModprobe},
      {"modprobe/user-sondrehusevold_modprobe.d_vfio.conf", kModprobe},
      {"modprobe/user-sondrehusevold_modules-load.d_ntsync.conf", kNotHandled, kModuleList},
      {"modprobe/user-spongeyperson_modprobe.d_kvm.conf_Y", kModprobe},
      {"modprobe/user-swannmr_modprobe.d_vfio.conf", kModprobe},
      {"modprobe/user-the-ashh_modprobe.d_vfio.conf", kModprobe},
      {"modprobe/user-vvorth_modprobe.d_kvm_amd.conf", kModprobe},
      {"systemd-boot/arch_user-droserasprout_loader-entries_arch-lts.conf", kNotHandled,
       "a systemd-boot loader entry; its 'options' value is a kernel command "
       "line (tested with Cmdline in cmdline_test.cc), but no loader-entry "
       "editor exists yet"},
      // The whole file is one kernel command line (efibootmgr -u argument).
      {"systemd-boot/arch_user-vvorth_efistub-cmdline", kCmdline},
      {"systemd-boot/cachyos_user-ozzyhelix_loader-entries_cachyos.conf", kNotHandled,
       "a systemd-boot loader entry; see the other loader entry"},
      {"xorg/arch_user-alkeryn_nvidia-settings_gtx1080ti_xorg.conf", kXorg},
      {"xorg/arch_user-the-ashh_xorg.conf.d_10-intel.conf", kXorg},
      {"xorg/bazzite_user-iubayb_xorg.conf.d_20-igpu-only.conf", kXorg},
      {"xorg/laptop_user-akoidan_msi-gs40_optimus_xorg.conf.nvidia", kXorg},
      {"xorg/laptop_user-cleemesser_gigabyte-aero15x_optimus_xorg.conf", kXorg},
      {"xorg/user-altagir_mining-rig_10-nvidia-gpus_nvidia-xconfig_xorg.conf", kXorg},
      {"xorg/user-darrynlowe_nvidia-plus-ignored-amd_xorg.conf", kXorg},
      {"xorg/user-kristianholsheimer_three-nvidia-gpus_xorg.conf", kXorg},
  };
  return table;
}

using vmprep::testing::CorpusDir;

inline std::vector<const CorpusFile*> CorpusFilesOf(Format format) {
  std::vector<const CorpusFile*> out;
  for (const CorpusFile& f : CorpusTable())
    if (f.format == format) out.push_back(&f);
  return out;
}

inline std::string ReadWholeFile(const std::filesystem::path& p) {
  return vmprep::testing::Slurp(p);
}

inline void WriteWholeFile(const std::filesystem::path& p, std::string_view text) {
  vmprep::testing::Spill(p, std::string(text));
}

// Runs a shell command line and returns its standard output.
inline std::string RunCapture(const std::string& command, int* status) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) {
    *status = -1;
    return out;
  }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  *status = pclose(pipe);
  return out;
}

// A fresh directory under this process's temp dir, removed at exit.
inline std::filesystem::path FreshDir(std::string_view name) {
  struct Root {
    std::filesystem::path path =
        std::filesystem::temp_directory_path() / ("vmprep-formats-" + std::to_string(getpid()));
    ~Root() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  };
  static Root root;
  auto dir = root.path / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// A line diff (longest common subsequence): removed lines as "-line" and
// added lines as "+line", in file order, each with its own line ending.
inline std::vector<std::string> ChangedLines(std::string_view a, std::string_view b) {
  auto split = [](std::string_view s) {
    std::vector<std::string> lines;
    size_t start = 0;
    while (start < s.size()) {
      size_t nl = s.find('\n', start);
      if (nl == std::string_view::npos) nl = s.size() - 1;
      lines.emplace_back(s.substr(start, nl + 1 - start));
      start = nl + 1;
    }
    return lines;
  };
  auto la = split(a), lb = split(b);
  const size_t n = la.size(), m = lb.size();
  std::vector<std::vector<int>> lcs(n + 1, std::vector<int>(m + 1, 0));
  for (size_t i = n; i-- > 0;)
    for (size_t j = m; j-- > 0;)
      lcs[i][j] = la[i] == lb[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
  std::vector<std::string> out;
  size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && la[i] == lb[j]) {
      ++i;
      ++j;
    } else if (j >= m || (i < n && lcs[i + 1][j] >= lcs[i][j + 1])) {
      out.push_back("-" + la[i++]);
    } else {
      out.push_back("+" + lb[j++]);
    }
  }
  return out;
}

}  // namespace vmprep::formats_test
