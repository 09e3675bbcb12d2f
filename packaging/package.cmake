# The Debian package, built with CPack from a tree configured with CMAKE_INSTALL_PREFIX=/usr
# (`./build.sh deb`). Depends come from dpkg-shlibdeps over the binaries actually linked, plus
# what no ELF header shows: libkmod2 (opened with dlopen on first use, system/modules.cc) and
# jq (read by vmcheck-boot). Included last from the top CMakeLists.txt.
include_guard(GLOBAL)
include(GNUInstallDirs)

install(FILES "${CMAKE_CURRENT_LIST_DIR}/copyright" DESTINATION "${CMAKE_INSTALL_DOCDIR}"
  COMPONENT runtime)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME vmprep)
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_CONTACT "vmprep developers <vmprep@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "KVM/VFIO passthrough host: health report, undoable fixers, early vfio-pci binding")
# The extended description (the synopsis line is CPACK_PACKAGE_DESCRIPTION_SUMMARY).
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
  "vmcheck reports whether this machine can pass PCI devices to virtual machines: KVM, the
IOMMU and its groups, vfio-pci binding, vhost_net, hugepages and QEMU, each finding with its
evidence and the exact fix; as text, JSON, Prometheus textfile or a Nagios plugin line.
vmsetup plans the boot configuration changes as diffs and applies them as transactions that
it can undo. Initramfs hooks (initramfs-tools, dracut, mkinitcpio) bind vfio-pci early by PCI
address, and systemd units check the host after boot.")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libkmod2, jq")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS
  "prometheus-node-exporter, ansible-core, ovmf, qemu-system-x86, cockpit, libvirt-daemon-system")
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://vmprep.invalid/")
# Installing the hooks asks initramfs-tools to rebuild the initramfs (its update-initramfs
# trigger) so that the early-binding hook is in the image the next boot uses.
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA "${CMAKE_CURRENT_LIST_DIR}/triggers")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
set(CPACK_PACKAGING_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")
set(CPACK_STRIP_FILES ON)
set(CPACK_SOURCE_IGNORE_FILES "/build/;/build-.*/;/\\\\.git/")
include(CPack)
