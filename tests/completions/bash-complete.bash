# shellcheck shell=bash
# Prints the candidates bash-completion's real machinery offers for a command line, one per
# line, as bash would when TAB is pressed at its end: the line is split into COMP_WORDS the
# way readline splits it (blanks, then COMP_WORDBREAKS characters ':' and '=' as words of
# their own), and the completion function registered for the command is called.
# Usage: bash bash-complete.bash COMPLETION_FILE 'vmcheck --format '
# shellcheck source=/dev/null
source /usr/share/bash-completion/bash_completion || exit 2
# shellcheck source=/dev/null
source "$1" || exit 2
line=$2
COMP_LINE=$line
COMP_POINT=${#line}
COMP_WORDS=()
word=""
for ((i = 0; i < ${#line}; i++)); do
  c=${line:i:1}
  case $c in
    ' ')
      [[ -n $word ]] && COMP_WORDS+=("$word")
      word=""
      ;;
    ':' | '=')
      [[ -n $word ]] && COMP_WORDS+=("$word")
      COMP_WORDS+=("$c")
      word=""
      ;;
    *) word+=$c ;;
  esac
done
COMP_WORDS+=("$word")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
spec=$(complete -p "${COMP_WORDS[0]}") || exit 2
func=${spec#*-F }
func=${func%% *}
"$func" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
printf '%s\n' "${COMPREPLY[@]}" | sort -u
