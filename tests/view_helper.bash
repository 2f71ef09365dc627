# tests/view_helper.bash — a page in a real browser, with no network: load
# helper, then `load view_helper`.
#
#   view_dom PAGE [FRAGMENT]       the DOM once the page's scripts ran, on stdout
#   view_requests PAGE [FRAGMENT]  every request the page tried, one a line:
#                                  URL<TAB>TYPE<TAB>OUTCOME; nothing for none
#   view_shot PAGE PNG [FRAGMENT]  a 1280x1600 screenshot of the page in PNG
#
# PAGE is a file, loaded as file://PAGE[#FRAGMENT] in Debian's headless
# Chromium, driven over the DevTools protocol on a pipe (--remote-debugging-pipe,
# no port), by the python3 below.  "Ran" means: the load event fired, no
# request is in flight, and nothing happened on the network for VIEW_QUIET_MS
# (300) milliseconds; timers set for later than that have not run.
#
# The network is refused twice.  Chromium runs in a network namespace of its
# own that has no interface but a loopback that is down (unshare -n; as a user
# that is not root, unshare -rn), so no packet can leave, and it is told to
# send everything through a proxy at 127.0.0.1:9 with no name resolving
# (--proxy-server, --host-resolver-rules), so no request is for anywhere but
# that dead proxy, and no name is looked up.  Requests are seen, not only
# refused: view_requests prints each of the DevTools Network domain's
# requestWillBeSent events but the page's own load (file: ones too; a data:
# URL is no request and is not listed), with how it ended
# (failed:net::ERR_..., blocked:csp DIRECTIVE, status:N, loaded), and each URL
# the page's Content-Security-Policy refused before it became a request (a
# fetch or an XMLHttpRequest: TYPE -, OUTCOME blocked:csp connect-src), as the
# page's securitypolicyviolation events tell it.
#
# All three print to stderr, as "view: ...", each uncaught exception of the
# page's scripts and each inline script, style or eval its CSP refused.
#
# Chromium is also in a PID namespace of its own (unshare -pf --kill-child),
# so every process it started ends with the call, even one cut short: the
# driver gives up 3 s before VIEW_TIMEOUT (30 s), timeout(1) ends it at
# VIEW_TIMEOUT; the call then checks that none is left (pgrep).  Its
# --user-data-dir is a new directory in the test's temporary directory, its
# log there as chromium.log (said on failure, else removed with the profile).
# Inside the namespaces Chromium is root, so it runs with --no-sandbox always.
#
# VIEW_USER=nobody runs Chromium as user nobody (root only; PAGE must then be
# readable by nobody: open_to_nobody).  VIEW_CHROMIUM names another binary.

VIEW_TIMEOUT=${VIEW_TIMEOUT:-30}
VIEW_QUIET_MS=${VIEW_QUIET_MS:-300}

# view_chromium: set VIEW_EXE to the browser's binary (not Debian's wrapper
# script, which adds extensions and flags of its own); skip the test when
# there is none.
view_chromium() {
	if [ -n "${VIEW_CHROMIUM:-}" ]; then
		VIEW_EXE=$VIEW_CHROMIUM
	elif [ -x /usr/lib/chromium/chromium ]; then
		VIEW_EXE=/usr/lib/chromium/chromium
	elif command -v chromium >/dev/null; then
		VIEW_EXE=$(command -v chromium)
	else
		skip "chromium is not installed (make deps installs it)"
	fi
}

view_dom() { view_run dom "$1" "${2-}"; }
view_requests() { view_run requests "$1" "${2-}"; }
view_shot() { view_run shot "$1" "${3-}" >"$2"; }

# view_jail CMD...: run CMD with no network, in a PID namespace that ends
# with it, as VIEW_USER (root when unset), within VIEW_TIMEOUT seconds.
view_jail() {
	local un=(unshare --net --pid --fork --mount-proc --kill-child)
	if [ "${VIEW_USER:-root}" != root ]; then
		setpriv --reuid="$VIEW_USER" --regid="$(id -gn "$VIEW_USER")" --clear-groups \
			timeout -k 2 "$VIEW_TIMEOUT" "${un[@]}" --map-root-user "$@"
	elif [ "$(id -u)" -ne 0 ]; then
		timeout -k 2 "$VIEW_TIMEOUT" "${un[@]}" --map-root-user "$@"
	else
		timeout -k 2 "$VIEW_TIMEOUT" "${un[@]}" "$@"
	fi
}

# view_run MODE PAGE FRAGMENT: the work of the three above.
view_run() {
	local mode=$1 page=$2 frag=$3 profile sock rc left
	view_chromium || return
	[ -r "$page" ] || { echo "view: cannot read $page" >&2; return 2; }
	page=$(realpath "$page")
	profile=$(mktemp -d "${BATS_TEST_TMPDIR:-${TMPDIR:-/tmp}}/view-profile.XXXXXX")
	if [ "${VIEW_USER:-root}" != root ]; then
		chown "$VIEW_USER" "$profile"
		if declare -F open_to_nobody >/dev/null; then open_to_nobody "$profile"; fi
	fi
	rc=0
	# Chromium makes its profile's socket directory in TMPDIR: one VIEW_USER
	# can write (a checkout's TMPDIR may not be), with a short path (a socket's
	# path is at most 107 bytes).
	sock=$(mktemp -d /tmp/oci-view.XXXXXX)
	[ "${VIEW_USER:-root}" = root ] || chown "$VIEW_USER" "$sock"
	HOME=$profile XDG_CONFIG_HOME=$profile XDG_CACHE_HOME=$profile TMPDIR=$sock \
		VIEW_TIMEOUT=$VIEW_TIMEOUT VIEW_QUIET_MS=$VIEW_QUIET_MS \
		view_jail python3 -I -c "$VIEW_PY" "$mode" "$VIEW_EXE" "$profile" "$page" "$frag" || rc=$?
	rm -rf "$sock"
	# The PID namespace ended them all; make sure.
	left=$(pgrep -f -- "--user-data-dir=$profile" || true)
	if [ -n "$left" ]; then
		echo "view: chromium processes left: $left" >&2
		# shellcheck disable=SC2086
		kill -KILL $left 2>/dev/null || true
		[ "$rc" -ne 0 ] || rc=1
	fi
	if [ "$rc" -ne 0 ]; then
		[ "$rc" -ne 124 ] || echo "view: timed out after ${VIEW_TIMEOUT}s" >&2
		echo "view: $mode $page failed ($rc); chromium's log:" >&2
		tail -n 20 "$profile/chromium.log" >&2 2>/dev/null || true
		return "$rc"
	fi
	rm -rf "$profile"
}

# The DevTools driver: argv MODE CHROMIUM PROFILE PAGE FRAGMENT.
IFS= read -r -d '' VIEW_PY <<'PY' || true
import base64, fcntl, json, os, pathlib, select, signal, subprocess, sys, time

mode, exe, profile, page, frag = sys.argv[1:6]
url = pathlib.Path(page).as_uri() + ("#" + frag if frag else "")
deadline = time.monotonic() + float(os.environ["VIEW_TIMEOUT"]) - 3
quiet = float(os.environ["VIEW_QUIET_MS"]) / 1000

def die(msg):
    sys.stderr.write("view: %s\n" % msg)
    sys.exit(3)

# Chromium reads commands from fd 3 and writes answers to fd 4, each ended by NUL.
cmd_r, cmd_w = os.pipe()
ans_r, ans_w = os.pipe()
def child_fds():
    a = fcntl.fcntl(cmd_r, fcntl.F_DUPFD, 10)
    b = fcntl.fcntl(ans_w, fcntl.F_DUPFD, 10)
    os.dup2(a, 3)
    os.dup2(b, 4)
log = open(os.path.join(profile, "chromium.log"), "wb")
p = subprocess.Popen([exe, "--headless", "--no-sandbox", "--disable-gpu",
    "--remote-debugging-pipe", "--user-data-dir=" + profile,
    "--window-size=1280,1600", "--hide-scrollbars", "--mute-audio",
    "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
    "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-default-apps",
    "--disable-extensions", "--disable-breakpad", "--disable-dev-shm-usage",
    "about:blank"], preexec_fn=child_fds, close_fds=False, start_new_session=True,
    stdin=subprocess.DEVNULL, stdout=log, stderr=log)
os.close(cmd_r)
os.close(ans_w)
buf = b""
nid = 0
msgs = []

def pump(timeout):
    global buf
    if not select.select([ans_r], [], [], max(0, timeout))[0]:
        return
    d = os.read(ans_r, 1 << 20)
    if not d:
        die("chromium closed its pipe")
    buf += d
    while b"\0" in buf:
        m, buf = buf.split(b"\0", 1)
        msgs.append(json.loads(m))

def call(method, params=None, session=None):
    global nid
    nid += 1
    m = {"id": nid, "method": method, "params": params or {}}
    if session:
        m["sessionId"] = session
    os.write(cmd_w, json.dumps(m).encode() + b"\0")
    while True:
        for k, r in enumerate(msgs):
            if r.get("id") == nid:
                del msgs[k]
                if "error" in r:
                    die("%s: %s" % (method, r["error"].get("message")))
                return r.get("result", {})
        if time.monotonic() > deadline:
            die("timed out in " + method)
        pump(deadline - time.monotonic())

def js(expr, s):
    r = call("Runtime.evaluate", {"expression": expr, "returnByValue": True}, s)
    return r["result"].get("value")

try:
    # The tab Chromium opened on about:blank, or a new one.
    tabs = [t["targetId"] for t in call("Target.getTargets")["targetInfos"] if t["type"] == "page"]
    tid = tabs[0] if tabs else call("Target.createTarget", {"url": "about:blank"})["targetId"]
    s = call("Target.attachToTarget", {"targetId": tid, "flatten": True})["sessionId"]
    for d in ("Page", "Network", "Runtime"):
        call(d + ".enable", {}, s)
    call("Page.addScriptToEvaluateOnNewDocument", {"source":
        "window.__viewCsp=[];document.addEventListener('securitypolicyviolation',"
        "e=>window.__viewCsp.push([e.blockedURI,e.effectiveDirective]),true);"}, s)
    call("Emulation.setDeviceMetricsOverride", {"width": 1280, "height": 1600,
        "deviceScaleFactor": 1, "mobile": False}, s)
    nav = call("Page.navigate", {"url": url}, s)
    if nav.get("errorText"):
        die("cannot load %s: %s" % (url, nav["errorText"]))
    reqs, order, inflight = {}, [], set()
    loaded, last, seen = False, time.monotonic(), 0
    while True:
        now = time.monotonic()
        if now > deadline:
            die("timed out waiting for %s to settle" % url)
        while seen < len(msgs):
            m = msgs[seen]
            seen += 1
            meth, pr = m.get("method", ""), m.get("params", {})
            rid = pr.get("requestId")
            if meth == "Page.loadEventFired":
                loaded = True
            elif meth == "Runtime.exceptionThrown":
                e = pr["exceptionDetails"]
                sys.stderr.write("view: uncaught exception: %s\n" %
                    e.get("exception", {}).get("description", e.get("text")))
            elif meth == "Network.requestWillBeSent":
                inflight.add(rid)
                if rid not in reqs:
                    order.append(rid)
                reqs[rid] = [pr["request"]["url"], pr.get("type", "-"), "sent"]
            elif meth == "Network.responseReceived" and rid in reqs:
                reqs[rid][2] = "status:%s" % pr["response"].get("status")
            elif meth == "Network.loadingFinished":
                inflight.discard(rid)
                if rid in reqs and reqs[rid][2] == "sent":
                    reqs[rid][2] = "loaded"
            elif meth == "Network.loadingFailed":
                inflight.discard(rid)
                if rid in reqs:
                    reqs[rid][2] = ("blocked:" + pr["blockedReason"] if pr.get("blockedReason")
                                    else "failed:" + pr.get("errorText", ""))
            else:
                continue
            last = time.monotonic()
        if loaded and not inflight and now - last >= quiet:
            break
        pump(min(0.05, deadline - now))

    csp = json.loads(js("JSON.stringify(window.__viewCsp||[])", s) or "[]")
    blocked = {}
    for u, d in csp:
        if ":" in u and u not in ("inline", "eval", "wasm-eval"):
            blocked.setdefault(u, d)
        else:
            sys.stderr.write("view: the page's CSP refused %s (%s)\n" % (u or "?", d))
    if mode == "dom":
        sys.stdout.write(js("document.documentElement.outerHTML", s) + "\n")
    elif mode == "requests":
        for k, rid in enumerate(order):
            u, t, res = reqs[rid]
            if k == 0 and t == "Document" and u.split("#")[0] == url.split("#")[0]:
                continue
            if res == "blocked:csp" and u in blocked:
                res += " " + blocked.pop(u)
            print("%s\t%s\t%s" % (u, t, res))
        for u, d in blocked.items():
            print("%s\t-\tblocked:csp %s" % (u, d))
    elif mode == "shot":
        png = base64.b64decode(call("Page.captureScreenshot", {"format": "png"}, s)["data"])
        sys.stdout.buffer.write(png)
    sys.stdout.flush()
finally:
    # The profile is thrown away: no need to close the browser gracefully.
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    p.wait()
PY
