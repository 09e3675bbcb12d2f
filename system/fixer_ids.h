// The ids of vmsetup's fixers, as findings name them in "fixer". A contract between the
// probes (checks/) and the fixers (fixers/): a test checks every id here has a fixer.
#pragma once

#include <string_view>

namespace vmprep {

inline constexpr std::string_view kFixKernelCmdline = "kernel-cmdline";
inline constexpr std::string_view kFixInitramfs = "initramfs";
inline constexpr std::string_view kFixModprobeVfio = "modprobe-vfio";
inline constexpr std::string_view kFixModulesLoad = "modules-load";
inline constexpr std::string_view kFixHugepages = "hugepages";
inline constexpr std::string_view kFixXorg = "xorg";
inline constexpr std::string_view kFixQemuBridge = "qemu-bridge";
inline constexpr std::string_view kFixVfioBind = "vfio-bind";
inline constexpr std::string_view kFixQemuUser = "qemu-user";
inline constexpr std::string_view kFixNetBridge = "net-bridge";
inline constexpr std::string_view kFixDeviceAccess = "device-access";
inline constexpr std::string_view kFixLibvirt = "libvirt";
inline constexpr std::string_view kFixKvmfr = "kvmfr";

// The files the fixers own, named the same in the probes' hints.
inline constexpr std::string_view kModprobeVfioConf = "/etc/modprobe.d/vmprep-vfio.conf";
inline constexpr std::string_view kModulesLoadConf = "/etc/modules-load.d/vmprep.conf";
inline constexpr std::string_view kVfioBindConf = "/etc/vmprep/vfio-bind.conf";
// What vmcheck-boot.service expects to pass after the reboot (vmsetup writes it with each
// transaction; the wizard compares it with the findings now).
inline constexpr std::string_view kExpectedStatePath = "/var/lib/vmprep/expected.json";
// Looking Glass's kvmfr module: the files its documentation names.
inline constexpr std::string_view kKvmfrModprobeConf = "/etc/modprobe.d/kvmfr.conf";
inline constexpr std::string_view kKvmfrModulesLoadConf = "/etc/modules-load.d/kvmfr.conf";
inline constexpr std::string_view kKvmfrUdevRules = "/etc/udev/rules.d/99-kvmfr.rules";
inline constexpr std::string_view kXorgHostGpuConf = "/etc/X11/xorg.conf.d/10-vmprep-host-gpu.conf";

}  // namespace vmprep
