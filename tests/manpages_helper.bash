# tests/manpages_helper.bash — read a man page the way its reader does.
# Loaded after helper.bash: `load helper; load manpages_helper`.

SRC_DIR=$(cd "$TESTS_DIR/.." && pwd)

# rendered PAGE: the page as man shows it, plain text without tabs.
rendered() {
	MANWIDTH=80 mandoc -T utf8 "$1" | col -bx
}

# section PAGE NAME: the text of one section, its heading left out.
section() {
	rendered "$1" | awk -v h="$2" '$0 == h { on = 1; next } /^[A-Z][A-Z ]*$/ { on = 0 } on'
}

# option_words: the options named in the text on stdin, one per line,
# "-qv" spelt as "-q" and "-v"; "-" (stdin) and "--" (end of options) are
# not options.
option_words() {
	grep -oE '(^|[][ |(])--?[A-Za-z][A-Za-z0-9-]*' |
	    sed -E 's/^[][ |(]//' |
	    awk '/^--/ { print; next } { for (i = 2; i <= length($0); i++) print "-" substr($0, i, 1) }' |
	    sort -u
}

# long_options PROG: the long options in bin/PROG.c's getopt_long table,
# with those every program has (OCI_COMMON_LONGOPTS).
long_options() {
	{
		grep -oE '^[[:space:]]*\{ "[a-z][a-z-]*",' "$SRC_DIR/bin/$1.c" | grep -oE '[a-z][a-z-]*'
		printf '%s\n' help version verbose quiet
	} | sed 's/^/--/' | sort -u
}

# example_blocks PAGE: the EXAMPLES section as a list of commands and the
# output shown for each, one record per line:
#   B              a new example (a paragraph of prose came before it)
#   C<tab>COMMAND  a command, its continuation lines joined with a \036 byte
#   O<tab>LINE     a line of the output the page shows for the last command
# A command goes on to the next line while it ends in \ && or |, or has an
# unclosed single quote.
example_blocks() {
	section "$1" EXAMPLES | awk '
	function flush() { if (cmd != "") { print "C\t" cmd; cmd = "" } }
	/^           \$ / {
		flush()
		cmd = substr($0, 14)
		open = 1
	}
	!/^           \$ / && /^           / {
		line = substr($0, 12)
		if (open) { sub(/^    /, "", line); cmd = cmd "\036" line }
		else print "O\t" line
	}
	/^           / {
		q = cmd; n = gsub(/\047/, "", q)
		open = (n % 2 == 1 || cmd ~ /(\\|&&|\|)$/)
		if (!open) flush()
		next
	}
	/^     [^ ]/ { flush(); print "B" }
	END { flush() }'
}

# run_examples PAGE: run every example of PAGE in order in the current
# directory, as a reader would type them, and compare what they print with
# the output the page shows where it is the same on every run (no "…",
# no digest, no time of day).  An example that pulls from a registry is left
# out, except `oci-fetch busybox bb`, for which busybox_image makes bb here.
# With $EXAMPLE_REGISTRY set, "localhost:5000" in an example is that registry.
run_examples() {
	local page=$1 kind text cmds=() outs=() blocks=() i b=0 skip=()
	while IFS=$'\t' read -r kind text; do
		case $kind in
		B) b=$((b + 1)) ;;
		C) cmds+=("${text//$'\036'/$'\n'}"); outs+=(""); blocks+=("$b") ;;
		O) outs[${#outs[@]} - 1]+="$text"$'\n' ;;
		esac
		case $text in
		'oci-fetch busybox bb') ;;
		*docker.io* | *oci-fetch*) skip[$b]=1 ;;
		esac
	done < <(example_blocks "$page")
	[ "${#cmds[@]}" -gt 0 ] || { echo "$page: no examples found" >&2; return 1; }
	for i in "${!cmds[@]}"; do
		[ -z "${skip[${blocks[$i]}]:-}" ] || continue
		case ${cmds[$i]} in
		'oci-fetch busybox bb') busybox_image bb latest >/dev/null; continue ;;
		esac
		echo "\$ ${cmds[$i]}"
		if ! bash -o pipefail -c "${cmds[$i]//localhost:5000/${EXAMPLE_REGISTRY:-localhost:5000}}" </dev/null >"$T/.example-out" 2>"$T/.example-err"; then
			cat "$T/.example-out" "$T/.example-err"
			echo "$page: this example failed" >&2
			return 1
		fi
		same_output "${outs[$i]}" "$T/.example-out" || {
			echo "$page: this example printed something else" >&2
			return 1
		}
	done
}

# same_output SHOWN FILE: the output shown on the page matches what the
# example printed, spaces aside; nothing to compare when SHOWN changes
# from run to run (it has "…", a digest or a time).
same_output() {
	[ -n "$1" ] || return 0
	! grep -qE '…|[0-9a-f]{12}|[0-9]{2}:[0-9]{2}' <<<"$1" || return 0
	diff -u <(printf '%s' "$1" | tr -s ' \t' ' ' | sed 's/^ //; s/ $//') \
	    <(head -n "$(printf '%s' "$1" | wc -l)" "$2" | tr -s ' \t' ' ' | sed 's/^ //; s/ $//')
}
