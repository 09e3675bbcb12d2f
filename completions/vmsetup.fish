# fish completion for vmsetup (vmprep): commands, options, PCI addresses, --enable items,
# transaction ids.

# __vmprep_typed_roots and __vmprep_pci_addresses are autoloaded from vendor_functions.d.

function __vmsetup_transactions
    vmsetup history (__vmprep_typed_roots) --json 2>/dev/null | string replace -rf '^ *"id": "([^"]*)",?$' '$1'
end

function __vmsetup_enable_items
    # A comma list: offer the items after what is already typed.
    set -l token (commandline -ct)
    set -l done (string replace -r '[^,]*$' '' -- $token)
    for item in iommu iommu-pt vfio vhost_net hugepages=2M: hugepages=1G: xorg bridge= qemu-user= access= kvmfr= libvirt
        echo $done$item
    end
end

set -l commands plan apply undo history fixers wizard
complete -c vmsetup -f
complete -c vmsetup -n "not __fish_seen_subcommand_from $commands" -a plan -d 'Print the diffs; change nothing'
complete -c vmsetup -n "not __fish_seen_subcommand_from $commands" -a apply -d 'Apply as one transaction'
complete -c vmsetup -n "not __fish_seen_subcommand_from $commands" -a undo -d 'Restore the files of a transaction'
complete -c vmsetup -n "not __fish_seen_subcommand_from $commands" -a history -d 'List the transactions'
complete -c vmsetup -n "not __fish_seen_subcommand_from $commands" -a fixers -d 'List the fixers'
complete -c vmsetup -n "not __fish_seen_subcommand_from $commands" -a wizard -d 'Set up step by step on the terminal'
complete -c vmsetup -n '__fish_seen_subcommand_from plan apply' -l device -x -a '(__vmprep_pci_addresses)' -d 'PCI device for vfio-pci'
complete -c vmsetup -n '__fish_seen_subcommand_from plan apply' -l enable -x -a '(__vmsetup_enable_items)' -d 'What to set up (comma list)'
complete -c vmsetup -n '__fish_seen_subcommand_from apply' -s y -l yes -d 'Apply without asking'
complete -c vmsetup -n '__fish_seen_subcommand_from apply undo wizard' -l no-regenerate -d 'Print the post-actions instead of running them'
complete -c vmsetup -n '__fish_seen_subcommand_from plan apply undo history' -l json -d 'Print JSON'
complete -c vmsetup -n '__fish_seen_subcommand_from undo' -x -a '(__vmsetup_transactions)' -d 'Transaction'
complete -c vmsetup -l root -x -a '(__fish_complete_directories)' -d 'A mounted system instead of /'
complete -c vmsetup -l runtime-root -x -a '(__fish_complete_directories)' -d 'Where /sys, /proc and /dev are read'
complete -c vmsetup -l config-root -x -a '(__fish_complete_directories)' -d 'Where /etc and /boot are edited'
complete -c vmsetup -s V -l version -d 'Print the version'
complete -c vmsetup -s h -l help -d 'Print help and examples'
