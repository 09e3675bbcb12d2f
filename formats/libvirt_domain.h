/// A libvirt domain definition (/etc/libvirt/qemu/NAME.xml, `virsh dumpxml` output), parsed
/// with libxml2 as libvirt itself parses it: what the domain says about the parts vmcheck
/// judges against the host (PCI hostdevs, memory backing, virtiofs, disks, interfaces,
/// firmware, audio, shared memory, QEMU arguments). Each part keeps its line for messages.
/// Sizes are converted with libvirt's unit rules ("KiB" = 1024, "KB" = 1000, "M" = MiB...).
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace vmprep {

// A host PCI address as the domain writes it (<address domain='0x0000' bus='0x01' .../>).
struct DomainPciAddress {
  std::uint32_t domain = 0;
  std::uint32_t bus = 0, slot = 0, function = 0;
  bool operator==(const DomainPciAddress&) const = default;
};

struct DomainHostdev {
  DomainPciAddress address;
  bool managed = false;         // libvirt's default is managed='no'
  bool from_interface = false;  // <interface type='hostdev'> (SR-IOV VF) rather than <hostdev>
  int line = 0;
};

// <hostdev mode='subsystem' type='usb'>: the host's device by <vendor>/<product> ids, by
// <address bus= device=> (the kernel's busnum and devnum), or both.
struct DomainUsbHostdev {
  std::optional<std::uint32_t> vendor, product;
  std::optional<std::uint32_t> bus, device;
  bool optional = false;  // <source startupPolicy='optional'>: libvirt starts without it
  int line = 0;
};

struct DomainHugepage {
  std::uint64_t size_kb = 0;  // 0: the host's default huge page size
  std::string nodeset;
};

struct DomainMemoryBacking {
  bool present = false;
  bool hugepages = false;
  std::vector<DomainHugepage> pages;  // empty with hugepages: default size
  std::string access_mode;            // <access mode='shared'/>, "" when absent
  std::string source_type;            // <source type='memfd|file|anonymous'/>
  int line = 0;
};

struct DomainDisk {
  std::string device;        // "disk", "cdrom", "floppy", "lun"
  std::string bus;           // <target bus=...>
  std::string target;        // <target dev=...>
  std::string address_type;  // <address type=...>, "" when absent
  int line = 0;
};

struct DomainInterface {
  std::string type;          // "bridge", "network", "direct", "user", "hostdev", ...
  std::string source;        // bridge name, network name or host device, as applicable
  std::string model;         // <model type=...>, "" when absent
  std::string address_type;  // <address type=...> of the guest side
  int line = 0;
};

struct DomainFilesystem {
  std::string driver;       // <driver type=...>: "virtiofs", "path", ...
  std::string source_dir;   // <source dir=...>
  std::string target_dir;   // <target dir=...> (the mount tag)
  std::string binary_path;  // <binary path=...>: a virtiofsd of the user's choice
  int line = 0;
};

struct DomainAudio {
  std::string type;         // "pulseaudio", "pipewire", "spice", "none", ...
  std::string server_name;  // pulseaudio serverName
  std::string runtime_dir;  // pipewire runtimeDir
  int line = 0;
};

struct DomainShmem {
  std::string name;
  std::string model;                        // "ivshmem-plain", "ivshmem-doorbell", "ivshmem"
  std::optional<std::uint64_t> size_bytes;  // unset: QEMU's default (4 MiB)
  int line = 0;
};

struct DomainOs {
  std::string firmware;     // <os firmware='efi|bios'>, "" when absent
  std::string loader;       // path in <loader>
  std::string loader_type;  // "pflash", "rom"
  std::string nvram;        // path in <nvram>
  std::string nvram_template;
  int line = 0;
};

struct Domain {
  std::string path;  // where it was read, for messages
  std::string name;
  std::string type;  // "kvm", "qemu"
  std::uint64_t memory_kb = 0;
  int memory_line = 0;
  DomainMemoryBacking memory_backing;
  DomainOs os;
  std::vector<DomainHostdev> hostdevs;
  std::vector<DomainUsbHostdev> usb_hostdevs;
  std::vector<DomainDisk> disks;
  std::vector<DomainInterface> interfaces;
  std::vector<DomainFilesystem> filesystems;
  std::vector<DomainAudio> audios;
  std::vector<DomainShmem> shmems;
  std::vector<std::string> qemu_args;  // <qemu:commandline><qemu:arg value=.../>
};

// Parses a domain document. Refuses what libvirt would refuse with the line and what was
// expected: not XML, a root other than <domain>, no <name>, an address or size that is not
// a number, an unknown unit.
std::expected<Domain, Error> ParseDomainXml(std::string_view text, std::string_view path);

// libvirt's scaled integers: `value` in `unit` ("" = `default_unit`) to bytes. Units as
// libvirt reads them: b/bytes, KB/MB/GB/TB (powers of 1000), k/KiB, M/MiB, G/GiB, T/TiB...
// (powers of 1024), case-insensitive. nullopt for an unknown unit, a non-number or overflow.
std::optional<std::uint64_t> ScaledBytes(std::string_view value, std::string_view unit,
                                         std::string_view default_unit);

}  // namespace vmprep
