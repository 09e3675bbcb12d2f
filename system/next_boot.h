// What the next boot will get, compared with what is running now: the kernel command line
// where this system keeps it (and whether the generated boot menu already carries it), the
// initramfs images (and whether they hold what their configuration asks for), and when the
// running kernel booted. vmcheck tells "configured, takes effect after `update-grub` and a
// reboot" (pending) apart from "not configured" with these; vmsetup's fixers write the same
// places and name the same commands (system/boot_tools.h).
#pragma once

#include <cstdint>
#include <expected>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/evidence.h"
#include "core/host.h"
#include "formats/cmdline.h"
#include "system/boot_tools.h"
#include "system/initramfs_config.h"

namespace vmprep {

// One place the next boot's command line comes from.
struct ConfiguredCmdline {
  std::string source;   // "/etc/default/grub", "/boot/loader/entries/debian.conf", ...
  std::string options;  // the options configured there
  // The generated file the boot loader reads ("/boot/grub/grub.cfg"); empty when the boot
  // loader reads `source` itself (a loader entry).
  std::string menu;
  std::optional<std::string> menu_options;  // the default entry's options in `menu`
  std::vector<BootCommand> regenerate;      // what brings `menu` up to date
};

// /etc/default/grub and the grub.d/*.cfg files grub-mkconfig sources after it, in that order;
// empty without /etc/default/grub.
std::expected<std::vector<std::string>, Error> GrubDefaultFiles(const Host& host);
// Boot Loader Specification entries in /boot, /efi and /boot/efi, each once (a directory
// reached twice through a symlink counts once).
std::expected<std::vector<std::string>, Error> LoaderEntryFiles(const Host& host);

// Every place, as the kernel-cmdline fixer edits them (GRUB with grub.d, BLS entries,
// /etc/kernel/cmdline, /etc/cmdline.d, kernelstub). Empty on rpm-ostree and where none is
// found. An Error when a file there cannot be read or parsed.
std::expected<std::vector<ConfiguredCmdline>, Error> ReadConfiguredCmdlines(const Host& host);

// Whether the next boot gets a command line `wanted` accepts.
struct NextBootCmdline {
  enum class State {
    kNotConfigured,    // some place lacks it: a fixer's job
    kNeedsRegenerate,  // configured; the boot menu does not carry it yet
    kNeedsReboot,      // configured and in the boot menu: takes effect at the next boot
  };
  State state = State::kNotConfigured;
  std::vector<std::string> configured_in;  // sources that carry it
  std::vector<BootCommand> to_run;         // kNeedsRegenerate: the commands still to run
  // "run `update-grub`, then reboot" / "reboot".
  std::string StillToDo() const;
};
NextBootCmdline JudgeNextBootCmdline(const std::vector<ConfiguredCmdline>& places,
                                     const std::function<bool(const Cmdline&)>& wanted);

// When the running kernel booted (/proc/stat btime), nullopt when unreadable.
std::optional<std::int64_t> BootTime(const Host& host);

// The initramfs images of kernel `release` in the config root: Debian's
// /boot/initrd.img-R, dracut's /boot/initramfs-R.img, BLS /boot|/efi/<id>/R/initrd, Arch's
// /boot/initramfs-linux*.img (named after the package, not the release).
std::vector<std::string> InitramfsImages(const Host& host, std::string_view release);

struct InitramfsContents {
  std::string path;
  std::int64_t mtime = 0;
  std::vector<std::string> names;                 // every path in the image
  bool Has(std::string_view suffix) const;        // a path ends with `suffix`
  bool HasModule(std::string_view module) const;  // "vfio_pci": vfio-pci.ko or vfio_pci.ko[.*]
};
std::expected<InitramfsContents, Error> ReadInitramfs(const Host& host, const std::string& path);

// The newest modification time of `paths` (config root; "path:line" sources allowed),
// nullopt when none can be read.
std::optional<std::int64_t> NewestMtime(const Host& host, const std::vector<std::string>& paths);

// What still has to run before the target kernel's initramfs images match their
// configuration: each image must be newer than `changed` and hold every module of
// `modules` and every file ending in one of `files`. The generators' regenerate commands
// when one does not (or when `changed` is newer than an image); empty when all do or there
// is no image to look at. `evidence` says what was seen.
std::vector<BootCommand> InitramfsStillToRun(const Host& host,
                                             const std::vector<InitramfsGenerator>& generators,
                                             std::string_view release, std::int64_t changed,
                                             const std::vector<std::string>& modules,
                                             const std::vector<std::string>& files,
                                             std::vector<Evidence>* evidence);

// "run `a`, `b`, then reboot" for `commands`, or "reboot" without any.
std::string RunThenReboot(const std::vector<BootCommand>& commands);

}  // namespace vmprep
