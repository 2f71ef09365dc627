#!/usr/bin/env bats
# tests/oci-view-browser.bats — oci-view's pages as a student sees them, in
# headless Chromium with the network refused (tests/view_helper.bash): the
# layers drawn, the answer of #which=PATH, the upper directory, a store's
# shared layers, hostile names shown as text and never run, and no request
# at all.  A screenshot of each view is kept in build/view/.

load helper
load untar_helper
load view_fixtures
load view_helper

setup_file() {
	T=$BATS_FILE_TMPDIR
	cd "$T" || return 1
	umoci_image "$T/umoci" latest
	mkdir -p "$TESTS_DIR/../build/view"
}

# which_text DOM: the text of the element with id "which".
which_text() {
	python3 -c 'import html.parser, sys
class P(html.parser.HTMLParser):
    depth, out = 0, []
    def handle_starttag(self, tag, attrs):
        if self.depth: self.depth += 1
        elif ("id", "which") in attrs: self.depth = 1
    def handle_endtag(self, tag):
        if self.depth: self.depth -= 1
    def handle_data(self, d):
        if self.depth: self.out.append(d)
p = P(convert_charrefs=True); p.feed(open(sys.argv[1]).read()); sys.stdout.write("".join(p.out))' "$1"
}

# shot PAGE NAME: keep a screenshot of PAGE as build/view/NAME.png.
shot() {
	view_shot "$1" "$TESTS_DIR/../build/view/$2.png" "${3-}"
	[ "$(head -c 8 "$TESTS_DIR/../build/view/$2.png" | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ]
}

@test "an image: three layer bands, the chain's three layers, the config; no request, no error" {
	oci-view -o page.html "$BATS_FILE_TMPDIR/umoci:latest"
	run -0 --separate-stderr view_dom page.html
	assert_equal "$stderr" ""
	echo "$output" >dom.html
	[ "$(grep -o 'class="band"' dom.html | wc -l)" -eq 3 ]
	[ "$(grep -o '<span class="kind">layer</span>' dom.html | wc -l)" -eq 3 ]
	grep -q '<dd>\["/bin/hello"\]</dd>' dom.html
	run -0 --separate-stderr view_requests page.html
	assert_equal "$output" ""
	assert_equal "$stderr" ""
	shot page.html image
}

@test "#which=PATH: the layer, its digest and diff_id; deleted; not in the rootfs" {
	local img=$BATS_FILE_TMPDIR/umoci:latest
	oci-view -o page.html "$img"
	l1=$(oci-diff --summary "$img" | jq -r 'select(.layer == 1) | "digest \(.digest), diff_id \(.diff_id)"')
	l2=$(oci-diff --summary "$img" | jq -r 'select(.layer == 2) | "digest \(.digest), diff_id \(.diff_id)"')
	view_dom page.html which=/etc/hostname >dom.html
	[ "$(which_text dom.html)" = "/etc/hostname: layer 1 ($l1)" ]
	grep -q '<li class="found"><span class="name">hostname</span>' dom.html
	view_dom page.html which=/etc/motd >dom.html
	[ "$(which_text dom.html)" = "/etc/motd: deleted in layer 2 ($l2); still shipped by layer 1" ]
	view_dom page.html which=/nowhere >dom.html
	[ "$(which_text dom.html)" = "/nowhere: not in the rootfs" ]
	shot page.html which which=/etc/motd
}

@test "hostile names are shown as text: no element, no script and no request comes from them" {
	hostile_image
	oci-view -o page.html evil:latest
	run -0 --separate-stderr view_dom page.html 'which=/h/%3Cimg%20src=x%20onerror=alert(1)%3E'
	assert_equal "$stderr" ""
	echo "$output" >dom.html
	[ "$(which_text dom.html)" = "/h/<img src=x onerror=alert(1)>: layer 4 ($(oci-diff --summary evil:latest | jq -r 'select(.layer == 4) | "digest \(.digest), diff_id \(.diff_id)"'))" ]
	grep -qF '<span class="name">&lt;img src=x onerror=alert(1)&gt;</span>' dom.html
	grep -qF '<span class="name">say "hi"' dom.html
	grep -qF '<span class="name">bad\xff\xfe</span>' dom.html
	run -1 grep -q '<img' dom.html
	[ "$(grep -o '<script' dom.html | wc -l)" -eq 2 ]
	run -0 view_requests page.html 'which=/h/%3Cimg%20src=x%20onerror=alert(1)%3E'
	assert_output ""
	shot page.html hostile which=/h/bad
}

@test "IMAGE UPPERDIR: the upper directory's band, and its changes are the answer" {
	mkdir -p up/etc
	echo mine >up/etc/mine
	oci-view -o page.html "$BATS_FILE_TMPDIR/umoci:latest" up
	view_dom page.html which=/etc/mine >dom.html
	[ "$(which_text dom.html)" = "/etc/mine: the upper directory up" ]
	[ "$(grep -o 'class="band upper"' dom.html | wc -l)" -eq 1 ]
	shot page.html upper which=/etc/mine
}

@test "--store: both containers, and each shared layer drawn once with the two that use it" {
	two_containers S
	oci-view -o page.html --store S
	run -0 --separate-stderr view_dom page.html
	assert_equal "$stderr" ""
	echo "$output" >dom.html
	[ "$(grep -o '<strong>container [a-z]*</strong>' dom.html | sort | tr '\n' ' ')" = "<strong>container one</strong> <strong>container two</strong> " ]
	[ "$(grep -o '<td class="used-by">one, two</td>' dom.html | wc -l)" -eq 3 ]
	run -0 view_requests page.html
	assert_output ""
	shot page.html store
}

@test "an index: every platform drawn, the one shown in full marked" {
	multi_image mk
	oci-view -p linux/amd64 -o page.html mk:multi
	run -0 --separate-stderr view_dom page.html
	assert_equal "$stderr" ""
	echo "$output" >dom.html
	grep -q '<span class="kind">index</span>' dom.html
	[ "$(grep -o '<div class="node picked"><span class="kind">manifest</span>' dom.html | wc -l)" -eq 1 ]
	[ "$(grep -o '<span class="kind">manifest</span>' dom.html | wc -l)" -eq 2 ]
	grep -q 'linux/arm64/v8' dom.html
	shot page.html index
}

@test "an opaque directory is drawn as one, and #which says a path it hides is its doing" {
	opaque_image
	oci-view -o page.html opq:latest
	view_dom page.html which=/data/c >dom.html
	which_text dom.html | grep -q "^/data/c: deleted in layer 4 (.*), hidden by its directory's opaque marker; still shipped by layer 3$"
	grep -q '<span class="tag gone">opaque in L4</span>' dom.html
	grep -q '<span class="tag gone">hidden by its opaque directory in L4</span>' dom.html
}
