# Shared by vmcheck.fish and vmsetup.fish (vmprep); fish autoloads it from vendor_functions.d.
# The root options typed so far, one per line, to pass on to vmcheck.
function __vmprep_typed_roots
    set -l tokens (commandline -opc)
    set -l i 2
    while test $i -le (count $tokens)
        switch $tokens[$i]
            case --root --runtime-root --config-root
                echo $tokens[$i]
                set i (math $i + 1)
                test $i -le (count $tokens); and echo $tokens[$i]
            case '--root=*' '--runtime-root=*' '--config-root=*'
                echo $tokens[$i]
        end
        set i (math $i + 1)
    end
end
