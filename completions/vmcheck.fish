# fish completion for vmcheck (vmprep): options, check names, finding ids, PCI addresses.

# __vmprep_typed_roots and __vmprep_pci_addresses are autoloaded from vendor_functions.d.

function __vmcheck_finding_ids
    vmcheck (__vmprep_typed_roots) --json 2>/dev/null | string replace -rf '^ *"id": "([^"]*)",?$' '$1'
end

complete -c vmcheck -f
complete -c vmcheck -n __fish_use_subcommand -a groups -d 'List the IOMMU groups and their devices'
complete -c vmcheck -n __fish_use_subcommand -a vm -d 'Judge libvirt domains against this host'
complete -c vmcheck -n '__fish_seen_subcommand_from vm' -F -d 'Domain NAME or FILE.xml'
complete -c vmcheck -l vm -r -F -d 'Also judge this libvirt domain (NAME or FILE.xml)'
complete -c vmcheck -l json -d 'Print one JSON document (vmprep.report/1)'
complete -c vmcheck -l format -x -a 'text json prometheus nagios' -d 'Output format'
complete -c vmcheck -s o -l output -r -F -d 'Write the report to FILE atomically'
complete -c vmcheck -s q -l quiet -d 'Print only findings that are not pass'
complete -c vmcheck -l only -x -a '(vmcheck --list 2>/dev/null | string replace -r "\s.*" "")' -d 'Run only this check'
complete -c vmcheck -l device -x -a '(__vmprep_pci_addresses)' -d 'PCI device meant for passthrough'
complete -c vmcheck -l accept -x -a '(__vmcheck_finding_ids)' -d 'Accept a finding (ID or ID=REASON)'
complete -c vmcheck -l guest -d 'Check the virtio drivers of this VM'
complete -c vmcheck -l user -x -a '(__fish_complete_users)' -d 'Judge /dev/kvm access for this user'
complete -c vmcheck -l root -x -a '(__fish_complete_directories)' -d 'Read a captured or mounted system'
complete -c vmcheck -l runtime-root -x -a '(__fish_complete_directories)' -d 'Where /sys, /proc and /dev are read'
complete -c vmcheck -l config-root -x -a '(__fish_complete_directories)' -d 'Where /etc, /boot and the modules are read'
complete -c vmcheck -l list -d 'List the checks'
complete -c vmcheck -s V -l version -d 'Print the version'
complete -c vmcheck -s h -l help -d 'Print help and examples'
