# Shared by vmcheck.fish and vmsetup.fish (vmprep); fish autoloads it from vendor_functions.d.
# The PCI addresses of the runtime root typed on the line (or /).
function __vmprep_pci_addresses
    set -l runtime /
    set -l roots (__vmprep_typed_roots)
    set -l i 1
    while test $i -le (count $roots)
        switch $roots[$i]
            case --root --runtime-root
                set runtime $roots[(math $i + 1)]
            case '--root=*' '--runtime-root=*'
                set runtime (string replace -r '^[^=]*=' '' -- $roots[$i])
        end
        set i (math $i + 1)
    end
    for d in (string trim -r -c / -- $runtime)/sys/bus/pci/devices/*
        basename $d
    end
end
