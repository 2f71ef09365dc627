#!/usr/bin/env bats
# tests/oci-view.bats — oci-view: usage; the page is one file that asks for
# nothing (its Content-Security-Policy, the hashes of its inline style and
# script, no URL, no src=); the data embedded in it against oci-diff's answers
# (layers, --summary's wasted bytes, --which); hostile names only inside the
# JSON; -o all or nothing; a damaged layer; an upper directory; a store.
# What a browser draws from the data is tests/oci-view-browser.bats's.

load helper
load untar_helper
load view_fixtures

setup_file() {
	T=$BATS_FILE_TMPDIR
	cd "$T" || return 1
	umoci_image "$T/umoci" latest
}

# inline PAGE style|script: the text of the page's one inline <style> or <script>.
inline() {
	python3 -c 'import re, sys
page = open(sys.argv[1], encoding="utf-8").read()
m = re.findall(r"<%s>(.*?)</%s>" % (sys.argv[2], sys.argv[2]), page, re.S)
assert len(m) == 1, len(m)
sys.stdout.write(m[0])' "$1" "$2"
}

csp_hash() { printf "'sha256-%s'" "$(inline "$1" "$2" | openssl dgst -sha256 -binary | base64 -w0)"; }

@test "usage: -h, --version, and usage errors exit 2" {
	help_and_version oci-view "-o FILE" "--store STORE" "UPPERDIR"
	run -2 oci-view
	assert_output --partial "usage: oci-view"
	run -2 oci-view a b c
	run -2 oci-view --store S a b
	run -2 oci-view --store S -p linux/amd64
	run -2 oci-view --bogus img
	run -2 oci-view -o
}

@test "the page: one file, a strict CSP naming its inline style and script by hash, no URL, no src" {
	run -0 oci-view "$BATS_FILE_TMPDIR/umoci:latest"
	echo "$output" >page.html
	grep -q '^<!DOCTYPE html>' page.html
	csp=$(grep -o '<meta http-equiv="Content-Security-Policy" content="[^"]*">' page.html)
	[[ $csp == *"default-src 'none'; style-src $(csp_hash page.html style); script-src $(csp_hash page.html script);"* ]]
	run -1 grep -Eiq 'https?://|src=|<link|<img|<iframe|@import|url\(' page.html
	# Two script elements: the data and the page's own.
	[ "$(grep -o '<script' page.html | wc -l)" -eq 2 ]
	data page.html | jq -e . >/dev/null
}

@test "the data: the chain, three layers, oci-diff --summary's wasted bytes and changes" {
	local img=$BATS_FILE_TMPDIR/umoci:latest
	oci-view "$img" >page.html
	data page.html >data.json
	[ "$(jq '.layers | length' data.json)" -eq 3 ]
	[ "$(jq '.chain.manifest.layers | length' data.json)" -eq 3 ]
	[ "$(jq -r '.chain.manifest_desc.digest' data.json)" = "$(oci-index "$img" | jq -r .digest)" ]
	run -0 diff <(jq -c '.layers[] | [.layer, .desc.digest, .diff_id, .tar_size, .added, .modified, .deleted, .files, .wasted]' data.json) \
		<(oci-diff --summary "$img" | jq -c '[.layer, .digest, .diff_id, .tar_size, .added, .modified, .deleted, .files, .wasted]')
	run -0 diff <(jq -r '.changes[] | select(.[6] | not) | [.[1], .[2], .[0], .[3], .[4]] | @tsv' data.json) \
		<(oci-diff "$img" | jq -r '[.layer, (.change | .[0:1] | ascii_upcase), .path, .type, .size] | @tsv')
	[ "$(jq -r '.config.config.Entrypoint[0]' data.json)" = /bin/hello ]
}

@test "an index: every platform it lists is in the chain; -p picks the image shown in full" {
	multi_image mk
	d=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "multi") | .digest' mk/index.json)
	oci-view -p linux/arm64 -o arm.html mk:multi
	data arm.html >arm.json
	[ "$(jq -r '.chain.top.digest' arm.json)" = "$d" ]
	[ "$(jq -r '[.chain.index.manifests[].platform | "\(.os)/\(.architecture)"] | join(" ")' arm.json)" = "linux/amd64 linux/arm64" ]
	[ "$(jq -r '.chain.manifest_desc.digest' arm.json)" = "$(jq -r .manifests[1].digest idx.json)" ]
	[ "$(jq '.layers | length' arm.json)" -eq 0 ]
	oci-view -p linux/amd64 -o amd.html mk:multi
	[ "$(data amd.html | jq '.layers | length')" -eq 3 ]
	run -1 oci-view -p linux/s390x mk:multi
	run -2 oci-view -p nonsense mk:multi
}

# last_change DATA PATH: the layer and change of PATH's last change in the data.
last_change() { jq -r --arg p "$2" '[.changes[] | select(.[0] == $p)] | last | "\(.[1]) \(.[2])"' "$1"; }

@test "which layer ships it: the data answers as oci-diff --which does" {
	local img=$BATS_FILE_TMPDIR/umoci:latest p
	oci-view "$img" >page.html
	data page.html >data.json
	for p in /etc/hostname /etc/new /data/c /bin/hello; do
		want=$(oci-diff --which "$p" "$img" | jq -r 'select(.rootfs) | .rootfs.layer' | tail -1)
		[ "$(last_change data.json "$p")" = "$want A" ] || [ "$(last_change data.json "$p")" = "$want M" ]
	done
	[ "$(last_change data.json /etc/motd)" = "2 D" ]
	[ "$(last_change data.json /data/a)" = "3 D" ]
	[ "$(last_change data.json /nowhere)" = "null null" ]
}

@test "hostile names: only inside the JSON, escaped; read back as they are" {
	hostile_image
	run -0 oci-view evil:latest
	echo "$output" >page.html
	[ "$(grep -o '<script' page.html | wc -l)" -eq 2 ]
	run -1 grep -q 'alert' <(grep -v 'id="data"' page.html)
	run -1 grep -q '<!--"' page.html
	run -1 grep -Fq '</script><script>alert' page.html
	data page.html >data.json
	jq -e '.changes | map(.[0]) | index("/h/</script><script>alert(1)</script>")' data.json
	jq -e '.changes | map(.[0]) | index("/h/say \"hi\"\nthere")' data.json
	jq -e '.changes | map(.[0]) | index("/h/bad\\xff\\xfe")' data.json
	jq -e '.changes | map(.[0]) | index("/h/<!--")' data.json
	# Matching oci-diff's JSON for the same names.
	run -0 diff <(jq -c '.changes[] | select(.[1] == 4) | .[0]' data.json) <(oci-diff evil:latest | jq -c 'select(.layer == 4) | .path')
}

@test "-o FILE: the page, written whole; a failure leaves the old file and nothing else" {
	local img=$BATS_FILE_TMPDIR/umoci:latest
	mkdir out
	run -0 oci-view -o out/page.html "$img"
	assert_output ""
	oci-view "$img" | cmp - out/page.html
	cp -r "$BATS_FILE_TMPDIR/umoci" img
	blob=$(layer_blob img 3)
	chmod u+w "$blob"
	truncate -s 50 "$blob"
	echo old >out/page.html
	run -1 oci-view -o out/page.html img:latest
	assert_output --regexp "^oci-view: layer sha256:[0-9a-f]{12}: "
	[ "$(cat out/page.html)" = old ]
	[ "$(ls -A out)" = page.html ]
	run -1 oci-view -o out/new.html img:latest
	[ "$(ls -A out)" = page.html ]
	run -1 oci-view -o nowhere/page.html "$img"
	assert_output --partial "nowhere"
}

@test "damaged layers: a changed byte, a wrong diff_id exit 1 naming the layer, no page" {
	cp -r "$BATS_FILE_TMPDIR/umoci" img
	blob=$(layer_blob img 2)
	chmod u+w "$blob"
	printf '\x00' | dd of="$blob" bs=1 seek=20 conv=notrunc status=none
	run -1 --separate-stderr oci-view img:latest
	assert_equal "$output" ""
	[[ $stderr =~ oci-view:\ layer\ sha256:[0-9a-f]{12}:\ (layer\ digest:\ digest\ mismatch|gzip:\ ) ]]
	rm -rf img && cp -r "$BATS_FILE_TMPDIR/umoci" img
	rewrite_config img '.rootfs.diff_ids[0] = .rootfs.diff_ids[1]'
	run -1 oci-view img:latest
	assert_output --partial "diff_id (the uncompressed tar): digest mismatch"
	run -1 oci-view nowhere:latest
}

@test "IMAGE UPPERDIR: the upper directory's changes, as oci-diff IMAGE UPPERDIR lists them" {
	local img=$BATS_FILE_TMPDIR/umoci:latest
	mkdir -p up/etc up/data
	echo changed >up/etc/hostname
	echo mine >up/etc/mine
	: >up/data/.wh.c
	run -0 oci-view -o page.html "$img" up
	data page.html >data.json
	[ "$(jq -r .upper data.json)" = up ]
	run -0 diff <(jq -r '.changes[] | select(.[1] == 4 and (.[6] | not)) | [.[2], .[0]] | @tsv' data.json) \
		<(oci-diff "$img" up | jq -r '[(.change | .[0:1] | ascii_upcase), .path] | @tsv')
	assert_output ""
	[ "$(last_change data.json /etc/mine)" = "4 A" ]
	[ "$(last_change data.json /etc/hostname)" = "4 M" ]
	[ "$(last_change data.json /data/c)" = "4 D" ]
	run -1 oci-view "$img" nowhere
	assert_output --partial "nowhere"
}

@test "--store: every container, its layers once with the containers that use them, the disk each takes" {
	two_containers S
	oci-overlay --store S --ls >ls.json
	run -0 oci-view --store S
	echo "$output" >page.html
	data page.html >data.json
	[ "$(jq -r .view data.json)" = store ]
	[ "$(jq -r '[.list[] | select(.container) | .container] | sort | join(" ")' data.json)" = "one two" ]
	[ "$(jq '[.list[] | select(.layer)] | length' data.json)" -eq 3 ]
	[ "$(jq -r '[.list[] | select(.layer) | .used_by | sort | join(",")] | unique | join(" ")' data.json)" = "one,two" ]
	jq -e '[.list[] | .disk > 0] | all' data.json
	jq -e '[.list[] | select(.container) | .init_disk > 0 and (.link | test("^[A-Z0-9]{26}$"))] | all' data.json
	run -0 diff <(jq -c '.list[] | del(.disk, .init_disk, .init_link) | if .container then del(.link) else . end' data.json) <(jq -c . ls.json)
	run -0 oci-view --store S two
	echo "$output" >two.html
	[ "$(data two.html | jq -r .name)" = two ]
	run -1 oci-view --store nowhere
}

@test "an opaque directory: what it hides is marked as its doing, a whiteout's deletion is not" {
	opaque_image
	oci-view -o page.html opq:latest
	data page.html >data.json
	run -0 jq -r '.changes[] | select(.[1] == 4 and .[2] == "D") | "\(.[0]) \(.[7])"' data.json
	assert_output "/data/c true"
	run -0 jq -r '.changes[] | select(.[0] == "/etc/motd" and .[2] == "D") | .[7]' data.json
	assert_output false
}
