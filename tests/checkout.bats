#!/usr/bin/env bats
# tests/checkout.bats — the suites pass wherever the checkout is.  A teacher
# logged in as root clones into /root (mode 0700), where user nobody cannot
# reach bin/ or walkthroughs/; tests/helper.bash then copies them, once per
# run, to a directory nobody can reach.  Here the rootless cases of every
# suite run from a copy of this checkout under a 0700 directory.

load helper

setup_file() {
	[ "$(id -u)" -eq 0 ] || skip "only root can run tests as user nobody"
	local src=$TESTS_DIR/.. f suites=()
	export HOME700=$BATS_FILE_TMPDIR/home
	export CO=$HOME700/oci
	mkdir -p "$CO"
	chmod 0700 "$HOME700"
	tar -C "$src" --exclude=./.git --exclude=./build -cf - . | tar -C "$CO" -xf -
	# the programs under test (bin/ or the sanitizer build) take bin/'s place
	for f in "$OCI_BUILT"/oci-*; do
		case $f in *.c | *.1) ;; *) cp -p "$f" "$CO/bin/" ;; esac
	done
	# The inner run's own temporary directory lies outside the 0700 one.
	export INNER_TMP=$BATS_FILE_TMPDIR/inner
	mkdir -p "$INNER_TMP"
	for f in "$CO"/tests/*.bats; do
		[ "$(basename "$f")" = checkout.bats ] || suites+=("tests/$(basename "$f")")
	done
	(cd "$CO" && env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root TMPDIR="$INNER_TMP" OCI_BIN="$CO/bin" \
		bats --formatter tap --no-tempdir-cleanup --filter 'nobody|user namespace|unreadable file|names with \.\. are refused' "${suites[@]}" \
		>"$BATS_FILE_TMPDIR/inner.tap" 2>&1) && echo 0 >"$BATS_FILE_TMPDIR/inner.rc" ||
		echo $? >"$BATS_FILE_TMPDIR/inner.rc"
}

teardown_file() {
	# rootless overlay work directories lose their permissions: give them back
	chmod -R u+rwX "$INNER_TMP" 2>/dev/null || true
	rm -rf "$INNER_TMP"
}

@test "the checkout copy is out of nobody's reach (or this test proves nothing)" {
	run -1 as_nobody test -x "$CO/bin/oci-digest"
	run -1 as_nobody test -r "$CO/walkthroughs/lib.sh"
}

@test "every rootless case passes from a checkout under a 0700 directory" {
	run -0 cat "$BATS_FILE_TMPDIR/inner.tap"
	rc=$(cat "$BATS_FILE_TMPDIR/inner.rc")
	[ "$rc" -eq 0 ] || { echo "$output" | grep -v '^ok ' | tail -n 60; echo "inner bats exited $rc"; false; }
	run -1 grep '^not ok ' "$BATS_FILE_TMPDIR/inner.tap"
	# the rootless cases of every suite that drops to nobody ran, and passed
	[ "$(grep -c '^ok ' "$BATS_FILE_TMPDIR/inner.tap")" -ge 27 ]
	for s in "user namespace commits" "nobody listening" "(nobody)" "as nobody: works" \
	    "user namespace --to-overlay" "names with .. are refused" "unreadable file"; do
		grep -qF "$s" "$BATS_FILE_TMPDIR/inner.tap" || { echo "no case \"$s\" ran"; false; }
	done
	grep -q '^ok .*every walkthrough runs unattended, as root and as nobody' "$BATS_FILE_TMPDIR/inner.tap"
}

@test "the programs and walkthroughs nobody ran were copies, made once for the run" {
	run -0 find "$INNER_TMP" -maxdepth 1 -name 'bats-run-*'
	[ "${#lines[@]}" -eq 1 ]
	reach=${lines[0]}/reach
	[ "$(cat "$reach.checked")" = "$reach" ]
	cmp "$CO/bin/oci-unshare" "$reach/bin/oci-unshare"
	cmp "$CO/walkthroughs/lib.sh" "$reach/walkthroughs/lib.sh"
	cmp "$CO/tests/registries.conf" "$reach/registries.conf"
	run -0 as_nobody "$reach/bin/oci-digest" --version
}
