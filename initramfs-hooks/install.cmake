# Install rules for the early vfio-pci binding hooks. The initramfs generators only look in
# fixed system locations, so these destinations are absolute whatever the prefix.
include_guard(GLOBAL)
set(_h "${CMAKE_CURRENT_LIST_DIR}")
install(FILES "${_h}/vfio-bind.sh" DESTINATION /usr/lib/vmprep COMPONENT initramfs)
install(PROGRAMS "${_h}/initramfs-tools/hooks/vmprep-vfio"
  DESTINATION /usr/share/initramfs-tools/hooks COMPONENT initramfs)
install(PROGRAMS "${_h}/initramfs-tools/scripts/init-top/00vmprep-vfio"
  DESTINATION /usr/share/initramfs-tools/scripts/init-top COMPONENT initramfs)
install(PROGRAMS "${_h}/dracut/90vmprep-vfio/module-setup.sh" "${_h}/dracut/90vmprep-vfio/vmprep-vfio.sh"
  DESTINATION /usr/lib/dracut/modules.d/90vmprep-vfio COMPONENT initramfs)
install(FILES "${_h}/mkinitcpio/install/vmprep-vfio"
  DESTINATION /usr/lib/initcpio/install COMPONENT initramfs)
install(FILES "${_h}/mkinitcpio/hooks/vmprep-vfio"
  DESTINATION /usr/lib/initcpio/hooks COMPONENT initramfs)
