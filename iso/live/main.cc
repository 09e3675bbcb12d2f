// vmprep-live: what the live ISO's menu and boot options call beyond vmcheck and vmsetup.
// Parses arguments and hands over to the flows; nothing else.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "core/host.h"
#include "iso/live/block.h"
#include "iso/live/flows.h"
#include "iso/live/options.h"

namespace {

constexpr const char* kFwCfgOptions =
    "/sys/firmware/qemu_fw_cfg/by_name/opt/org.vmprep/options/raw";

int PrintOptions(const std::string& cmdline_path, const std::string& fw_cfg_path) {
  auto host = vmprep::live::OpenLiveHost();
  if (!host) return 3;
  std::string cmdline, fw_cfg;
  if (auto text = host->Read(vmprep::Root::kRuntime, cmdline_path, 64 * 1024)) cmdline = *text;
  if (auto text = host->Read(vmprep::Root::kRuntime, fw_cfg_path, 64 * 1024)) fw_cfg = *text;
  auto parsed = vmprep::live::ParseLiveOptions({cmdline, fw_cfg});
  for (const auto& p : parsed.problems) std::fprintf(stderr, "vmprep-live: %s\n", p.c_str());
  std::string out = vmprep::live::FormatOptions(parsed.options);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "vmprep-live: the live ISO's helper: find installed systems and FAT sticks, fix an "
      "installed system, save the report.",
      "vmprep-live"};
  app.require_subcommand(1);
  std::string work_dir = "/run/vmprep";
  app.add_option("--work-dir", work_dir, "Where mount points are made (default /run/vmprep)");

  auto* options = app.add_subcommand(
      "options", "Print the vmprep.* boot options (kernel command line, then fw_cfg), checked");
  std::string cmdline_path = "/proc/cmdline", fw_cfg_path = kFwCfgOptions;
  options->add_option("--cmdline", cmdline_path, "Read the command line from this file");
  options->add_option("--fw-cfg", fw_cfg_path, "Read the fw_cfg options from this file");

  app.add_subcommand("disks", "List the file systems libblkid finds");
  app.add_subcommand("roots", "List the installed Linux systems on this machine's disks");

  auto* wait = app.add_subcommand("wait", "Wait until file systems appear (USB disks come late)");
  std::vector<std::string> wait_specs;
  int wait_seconds = 15;
  wait->add_option("specs", wait_specs, "/dev/NAME, UUID=..., LABEL=...")->required();
  wait->add_option("--timeout", wait_seconds, "Seconds (default 15)");

  auto* fix = app.add_subcommand(
      "fix", "Check an installed system on this hardware and set it up for passthrough");
  vmprep::live::FixRequest fix_request;
  fix->add_option("--root", fix_request.root_spec,
                  "Its root file system: /dev/NAME, UUID=..., LABEL=... (default: ask)");
  auto* fix_devices = fix->add_option("--device", fix_request.devices,
                                      "A PCI device for vfio-pci (repeatable; default: ask)");
  auto* fix_enable = fix->add_option("--enable", fix_request.enable,
                                     "vmsetup --enable items (default: ask; iommu with --yes)")
                         ->delimiter(',');
  fix->add_flag("-y,--yes", fix_request.yes, "Apply without asking");
  fix->add_option("--plan-json", fix_request.plan_json, "Also write vmsetup's JSON plan here");

  auto* wizard = app.add_subcommand(
      "wizard", "Mount an installed system and run `vmsetup wizard` on it with this hardware");
  std::string wizard_root;
  wizard->add_option("--root", wizard_root, "Its root file system (default: ask)");

  auto* save = app.add_subcommand("save", "Save files (the report) to a FAT file system");
  vmprep::live::SaveRequest save_request;
  save->add_option("--to", save_request.spec, "/dev/NAME, LABEL=..., UUID=... (default: ask)");
  save->add_option("files", save_request.files, "Files to save")->required();

  CLI11_PARSE(app, argc, argv);
  fix_request.work_dir = work_dir;
  save_request.work_dir = work_dir;
  if (options->parsed()) return PrintOptions(cmdline_path, fw_cfg_path);
  if (app.got_subcommand("disks")) return vmprep::live::ListDisks();
  if (app.got_subcommand("roots")) return vmprep::live::ListRoots(work_dir);
  if (fix->parsed()) {
    fix_request.devices_given = fix_devices->count() > 0;
    fix_request.enable_given = fix_enable->count() > 0;
    return vmprep::live::RunFix(fix_request);
  }
  if (wizard->parsed()) {
    vmprep::live::FixRequest request{
        .root_spec = wizard_root, .wizard = true, .work_dir = work_dir};
    return vmprep::live::RunFix(request);
  }
  if (save->parsed()) return vmprep::live::RunSave(save_request);
  if (wait->parsed()) return vmprep::live::WaitForDevices(wait_specs, wait_seconds);
  return 3;
}
