#!/usr/bin/env zsh
# Prints the candidates zsh's real completion system offers for a command line, one per
# line: an interactive zsh in a pseudo-terminal (zsh/zpty) with compinit and FPATH_DIR first in
# $fpath, where compadd is wrapped to print what the completion functions add.
# Usage: zsh-complete.zsh FPATH_DIR 'vmcheck --format '
emulate -L zsh
zmodload zsh/zpty || exit 2
fdir=$1 line=$2
zpty z zsh -f -i
zpty -w z "PS1='ZPROMPT> ' RPROMPT=''; unset zle_bracketed_paste; TERM=dumb"
zpty -w z "fpath=(${(q)fdir} \$fpath); autoload -Uz compinit; compinit -u -D"
# compadd -O collects the matches a call would add (after zsh's own filtering by the prefix);
# print them between markers, then add them for real.
zpty -w z 'compadd() { local -a __m; builtin compadd -O __m "$@"; print -rl -- "<<"${^__m}">>" >/dev/tty; builtin compadd "$@" }'
zpty -w z "zstyle ':completion:*' list-prompt ''; zstyle ':completion:*' menu no"
# The typed command reads RE''ADY, its output READY: wait for the output, then for the prompt
# after it, which zle prints once it reads keys itself (text sent before that is taken by the
# tty's line discipline, and the Tab never reaches the completion system).
zpty -w z "print -r -- RE''ADY"
zpty -r z out '*READY*'
zpty -r z out '*ZPROMPT> *'
zpty -n -w z "$line"$'\t'
zpty -w z $'\C-u print -r -- DO\'\'NE'
# zle handles the Tab (completion functions may run vmcheck, slow on a loaded machine) before
# it reads the DONE line: wait for DONE's output, up to 25 s, polling without blocking.
output=''
integer deadline=$(( SECONDS + 25 ))
while (( SECONDS < deadline )); do
  if zpty -r -t z chunk; then output+=$chunk; else sleep 0.05; fi
  [[ $output == *DONE* ]] && break
done
# Also take what arrives just after it.
sleep 0.2
while zpty -r -t z chunk; do output+=$chunk; done
zpty -d z
print -r -- ${(F)${(u)${(M)${(f)output//$'\r'/}:#*<<*>>*}}} | sed -n 's/.*<<\(.*\)>>.*/\1/p' | sort -u
