#!/usr/bin/env bats
# tests/view_helper.bats — the browser harness itself (tests/view_helper.bash):
# small pages written here, in headless Chromium with no network.  No
# program of ours is run, so the suite is the same against any OCI_BIN.

load helper
load view_helper

# page NAME HEAD BODY: $T/NAME.html, an HTML5 page.
page() {
	printf '<!doctype html>\n<html><head><meta charset="utf-8">%s<title>%s</title></head>\n<body>%s</body></html>\n' \
		"$2" "$1" "$3" >"$T/$1.html"
}

# csp_hash SCRIPT: the CSP source that lets exactly that inline script run.
csp_hash() { printf "'sha256-%s'" "$(printf %s "$1" | openssl dgst -sha256 -binary | base64)"; }

# chromium_left: the Chromium processes that still run from a profile in $T.
chromium_left() { pgrep -af -- "--user-data-dir=$T/" || true; }

@test "view_dom prints the DOM after the page's script wrote into it" {
	page script '' '<p id="out">not yet</p><script>document.getElementById("out").textContent = "written by " + "the script";</script>'
	run -0 --separate-stderr view_dom "$T/script.html"
	assert_output --partial '<p id="out">written by the script</p>'
	refute_output --partial 'not yet'
	assert_equal "$stderr" ''
	assert_equal "$(chromium_left)" ''
}

@test "view_requests prints nothing for a page that asks for nothing" {
	page quiet '<style>p { color: #333; }</style>' '<p id="q"></p><script>document.getElementById("q").textContent = "q";</script>'
	run -0 --separate-stderr view_requests "$T/quiet.html"
	assert_output ''
	assert_equal "$stderr" ''
}

@test "view_dom FRAGMENT: the script reads it from location.hash" {
	page hash '' '<p id="h"></p><script>document.getElementById("h").textContent = "hash=" + decodeURIComponent(location.hash.slice(1));</script>'
	run -0 view_dom "$T/hash.html" 'image=sha256:abc&tab=layers'
	assert_output --partial '<p id="h">hash=image=sha256:abc&amp;tab=layers</p>'
}

@test "view_requests catches a fetch and an <img> that try the network; none leaves" {
	page net '' '<p id="r">pending</p><img src="http://127.0.0.1:1/x.png">
<script>fetch("http://example.com/").then(() => { document.getElementById("r").textContent = "reached"; },
  e => { document.getElementById("r").textContent = "refused: " + e.name; });</script>'
	run -0 view_requests "$T/net.html"
	assert_equal "${#lines[@]}" 2
	# Port 1 is on Chromium's list of unsafe ports; anything else meets the
	# dead proxy at 127.0.0.1:9 in a namespace with no network.
	assert_line $'http://127.0.0.1:1/x.png\tImage\tfailed:net::ERR_UNSAFE_PORT'
	assert_line $'http://example.com/\tFetch\tfailed:net::ERR_PROXY_CONNECTION_FAILED'
	assert_equal "$(chromium_left)" ''
}

@test "the page's fetch is refused, and its script goes on" {
	page net '' '<p id="r">pending</p>
<script>fetch("http://example.com/").then(() => { document.getElementById("r").textContent = "reached"; },
  e => { document.getElementById("r").textContent = "refused: " + e.name; });</script>'
	run -0 view_dom "$T/net.html"
	assert_output --partial '<p id="r">refused: TypeError</p>'
}

@test "a CSP of default-src 'none' blocks both, and view_requests says so" {
	local js='document.getElementById("r").textContent = "ran"; fetch("http://example.com/").catch(() => {});'
	page csp "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src $(csp_hash "$js")\">" \
		"<p id=\"r\">not run</p><img src=\"http://127.0.0.1:1/x.png\"><script>$js</script>"
	run -0 view_requests "$T/csp.html"
	assert_equal "${#lines[@]}" 2
	# The <img> becomes a request that Chromium blocks; the fetch is refused
	# in the page before it is one, so only the CSP violation tells of it.
	assert_line $'http://127.0.0.1:1/x.png\tImage\tblocked:csp img-src'
	assert_line $'http://example.com/\t-\tblocked:csp connect-src'
}

@test "a script its CSP allows by hash runs under default-src 'none'" {
	local js='document.getElementById("r").textContent = "ran";'
	page csp "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src $(csp_hash "$js")\">" \
		"<p id=\"r\">not run</p><script>$js</script>"
	run -0 --separate-stderr view_dom "$T/csp.html"
	assert_output --partial '<p id="r">ran</p>'
	assert_equal "$stderr" ''
}

@test "an inline script its CSP refuses is said on stderr" {
	page refused "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'\">" \
		'<p id="r">static</p><script>document.getElementById("r").textContent = "ran";</script>'
	run -0 --separate-stderr view_requests "$T/refused.html"
	assert_output ''
	assert_equal "$stderr" "view: the page's CSP refused inline (script-src-elem)"
}

@test "an uncaught exception of the page's script is said on stderr" {
	page throws '' '<script>null.x;</script><p>after</p>'
	run -0 --separate-stderr view_dom "$T/throws.html"
	assert_output --partial '<p>after</p>'
	[[ $stderr == "view: uncaught exception: TypeError: Cannot read properties of null"* ]]
}

@test "view_shot writes a 1280x1600 PNG" {
	page shot '<style>body { background: #c33; }</style>' '<h1>shot</h1>'
	mkdir -p "$T/build"
	view_shot "$T/shot.html" "$T/build/shot.png" 'frag'
	run -0 file -b "$T/build/shot.png"
	assert_output --partial 'PNG image data, 1280 x 1600'
	assert_equal "$(head -c 8 "$T/build/shot.png" | od -An -tx1 | tr -d ' \n')" 89504e470d0a1a0a
	assert_equal "$(chromium_left)" ''
}

@test "view_jail: no interface but a loopback that is down, and no connection" {
	view_chromium
	run -0 view_jail ip -o link
	assert_output --regexp '^1: lo: <LOOPBACK> '
	assert_equal "${#lines[@]}" 1
	run -0 view_jail python3 -c '
import socket
for a in (("127.0.0.1", 9), ("192.0.2.1", 80)):
    try:
        socket.create_connection(a, timeout=2)
        print(a, "connected")
    except OSError as e:
        print(a, e.strerror)'
	assert_line "('127.0.0.1', 9) Network is unreachable"
	assert_line "('192.0.2.1', 80) Network is unreachable"
}

@test "VIEW_USER=nobody: view_requests, as user nobody in a user namespace" {
	[ "$(id -u)" -eq 0 ] || skip "only root can become nobody"
	open_to_nobody "$T"
	page nobody '' '<p id="o"></p><img src="http://example.org/y.png"><script>document.getElementById("o").textContent = "as " + location.hash;</script>'
	chmod a+r "$T/nobody.html"
	VIEW_USER=nobody run -0 view_requests "$T/nobody.html" nobody
	assert_output $'http://example.org/y.png\tImage\tfailed:net::ERR_PROXY_CONNECTION_FAILED'
	VIEW_USER=nobody run -0 view_jail id -u
	assert_output 0
	assert_equal "$(chromium_left)" ''
}

@test "VIEW_USER=nobody: view_dom" {
	[ "$(id -u)" -eq 0 ] || skip "only root can become nobody"
	open_to_nobody "$T"
	page nobody '' '<p id="o"></p><script>document.getElementById("o").textContent = "as " + location.hash;</script>'
	chmod a+r "$T/nobody.html"
	VIEW_USER=nobody run -0 view_dom "$T/nobody.html" nobody
	assert_output --partial '<p id="o">as #nobody</p>'
}

@test "a page that never settles fails within VIEW_TIMEOUT and leaves no process" {
	page spin '' '<script>for (;;) {}</script>'
	SECONDS=0
	VIEW_TIMEOUT=6 run -3 --separate-stderr view_dom "$T/spin.html"
	[ "$SECONDS" -le 8 ]
	assert_output ''
	[[ $stderr == *"view: timed out"* ]]
	assert_equal "$(chromium_left)" ''
}
