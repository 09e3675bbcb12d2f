#!/usr/bin/env zsh
# Prints the candidates zsh's real completion system offers for a command line, one per
# line: an interactive zsh in a pseudo-terminal (zsh/zpty) with compinit and FPATH_DIR first in
# $fpath, where compadd is wrapped to print what the completion functions add.
# Usage: zsh-complete.zsh FPATH_DIR 'vmcheck --format '
emulate -L zsh
zmodload zsh/zpty || exit 2
fdir=$1 line=$2
zpty z zsh -f -i
zpty -w z "PS1='' PROMPT='' RPROMPT=''; unsetopt zle_bracketed_paste 2>/dev/null; TERM=dumb"
zpty -w z "fpath=(${(q)fdir} \$fpath); autoload -Uz compinit; compinit -u -D"
# compadd -O collects the matches a call would add (after zsh's own filtering by the prefix);
# print them between markers, then add them for real.
zpty -w z 'compadd() { local -a __m; builtin compadd -O __m "$@"; print -rl -- "<<"${^__m}">>" >/dev/tty; builtin compadd "$@" }'
zpty -w z "zstyle ':completion:*' list-prompt ''; zstyle ':completion:*' menu no"
zpty -w z 'print -r -- READY'
zpty -r z out '*READY*'
zpty -r z out '*READY*'
zpty -n -w z "$line"$'\t'
zpty -w z $'\C-u print -r -- DONE'
output=''
while zpty -r -t z chunk; do output+=$chunk; [[ $output == *DONE*DONE* || $output == *$'\n'DONE* ]] && break; done
# Also wait a little for output that arrives after the first DONE.
sleep 0.2
while zpty -r -t z chunk; do output+=$chunk; done
zpty -d z
print -r -- ${(F)${(u)${(M)${(f)output//$'\r'/}:#*<<*>>*}}} | sed -n 's/.*<<\(.*\)>>.*/\1/p' | sort -u
