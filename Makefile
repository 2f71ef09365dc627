# oci-* — see README.md.  `make` builds bin/oci-* beside their sources;
# `make check` installs what is missing, then runs the tests twice: against
# this build and against one with AddressSanitizer and UBSan in build/asan/.

VERSION = 0.1.0
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man

# B is the build directory ("" = in place, "build/asan/" for the sanitizer build).
B =
PKGS = libarchive libcrypto libcurl jansson zlib libisal libzstd
CC ?= cc
CFLAGS ?= -O2 -g
SAN_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OCI_CFLAGS = -std=gnu11 -Wall -Wextra -Werror -Ilib -DOCI_VERSION='"$(VERSION)"' \
	$(shell pkg-config --cflags $(PKGS)) $(if $(SAN),$(SAN_FLAGS))
OCI_LDFLAGS = $(if $(SAN),$(SAN_FLAGS))
LDLIBS = $(shell pkg-config --libs $(PKGS)) -lpthread

HDR = $(wildcard lib/*.h lib/*/*.h)
LIBSRC = $(wildcard lib/*/*.c)
LIBOBJ = $(LIBSRC:%.c=$(B)%.o)
LIB = $(B)lib/liboci.a
PROGSRC = $(wildcard bin/oci-*.c)
PROGS = $(PROGSRC:%.c=%)
BINS = $(PROGSRC:%.c=$(B)%)
MANS = $(PROGSRC:%.c=%.1)
MAN7 = $(wildcard bin/*.7)

# What the build and the walkthroughs need (Debian package names): make demo.
# skopeo is the walkthroughs' side-by-side peer.
DEPS_DEMO = build-essential pkg-config libarchive-dev libssl-dev libcurl4-openssl-dev \
	libjansson-dev zlib1g-dev libisal-dev libzstd-dev \
	jq curl python3 docker-registry busybox-static attr util-linux skopeo xxd
# And what the tests need besides: make check.
DEPS = $(DEPS_DEMO) bats bats-assert bats-support bats-file umoci oci-image-tool \
	python3-jwt python3-bcrypt openssl time zstd xz-utils mandoc man-db bsdextrautils \
	procps podman python3-seccomp clang libclang-rt-14-dev chromium

all: $(BINS)

$(B)lib/%.o: lib/%.c $(HDR)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(OCI_CFLAGS) -c -o $@ $<

$(LIB): $(LIBOBJ)
	rm -f $@
	$(AR) rcs $@ $(LIBOBJ)

$(B)bin/%: bin/%.c $(LIB) $(HDR)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(OCI_CFLAGS) $(OCI_LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

# oci-view's page, bin/view/page.{html,css,js}, as C arrays (xxd -i) in the build directory.
VIEWPAGE = $(or $(B),build/)view/page.c
$(VIEWPAGE): bin/view/page.html bin/view/page.css bin/view/page.js
	@mkdir -p $(@D)
	cd bin/view && for f in page.html page.css page.js; do xxd -i $$f || exit 1; done >$(CURDIR)/$@.tmp
	mv $@.tmp $@

$(B)bin/oci-view: bin/oci-view.c $(VIEWPAGE) $(LIB) $(HDR)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(OCI_CFLAGS) $(OCI_LDFLAGS) -o $@ $< $(VIEWPAGE) $(LIB) $(LDLIBS)

# Install what is missing; as non-root, say the apt-get lines to run.
deps:
	@$(call install_missing,deps,$(DEPS))

deps-demo:
	@$(call install_missing,deps-demo,$(DEPS_DEMO))

# install_missing TARGET,PACKAGES: apt-get install those not installed yet.
# Debian's docker-registry starts a registry on :5000 of every interface at
# boot; what turned it on is turned off again, and what was done is said.
define install_missing
missing=$$(for p in $(2); do \
	dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; \
done | tr '\n' ' '); \
if [ -z "$$missing" ]; then exit 0; fi; \
if [ "$$(id -u)" -eq 0 ]; then \
	echo "make $(1): installing $$missing"; \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing || exit 1; \
	case " $$missing " in *" docker-registry "*) \
		echo "make $(1): Debian's docker-registry package starts a registry on port 5000 of every"; \
		echo "  interface at boot; the lab and the tests start their own on 127.0.0.1."; \
		if command -v systemctl >/dev/null; then \
			systemctl disable --now docker-registry >/dev/null 2>&1 || true; \
			if [ "$$(systemctl is-enabled docker-registry 2>/dev/null)" = enabled ]; then \
				echo "  It is still enabled: as root, run systemctl disable --now docker-registry"; \
			else echo "  Its service is disabled and stopped (systemctl disable --now docker-registry)."; fi; \
		elif [ -x /etc/init.d/docker-registry ] && command -v update-rc.d >/dev/null; then \
			/etc/init.d/docker-registry stop >/dev/null 2>&1 || true; \
			update-rc.d docker-registry disable >/dev/null 2>&1 || true; \
			echo "  Its init script is stopped and disabled (update-rc.d docker-registry disable)."; \
		else echo "  No init system here starts it."; fi;; \
	esac; \
else \
	echo "make $(1): missing packages; as root run:"; \
	echo "  apt-get update && apt-get install -y $$missing"; exit 1; \
fi
endef

asan:
	$(MAKE) B=build/asan/ SAN=1 all

# The suites run against bin/ first, then against the sanitizer build.
check: deps
	$(MAKE) all
	$(MAKE) asan
	$(MAKE) fuzz-check
	tests/run.sh bin build/asan/bin

bench: all
	@for b in tests/bench/*.sh; do echo "== $$b"; OCI_BIN=$(CURDIR)/bin bash $$b || exit 1; done

# walkthroughs/preflight first: it names what this machine lacks and how to fix it.
demo: deps-demo
	$(MAKE) all
	@set -e; start=$$(date +%s); n=0; \
	walkthroughs/preflight -q; \
	for w in walkthroughs/[0-9]*.sh; do \
		[ -e "$$w" ] || { echo "make demo: no walkthroughs yet"; break; }; \
		PATH="$(CURDIR)/bin:$$PATH" bash "$$w" </dev/null; \
		n=$$((n + 1)); \
	done; \
	echo "make demo: preflight and $$n walkthroughs ran in $$(($$(date +%s) - start)) s;" \
		"the lab is $${OCI_LAB:-$(CURDIR)/oci-lab}"

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7
	install -m 755 $(PROGS) $(DESTDIR)$(BINDIR)
	install -m 644 $(MANS) $(DESTDIR)$(MANDIR)/man1
	install -m 644 $(MAN7) $(DESTDIR)$(MANDIR)/man7

uninstall:
	cd $(DESTDIR)$(BINDIR) && rm -f $(notdir $(PROGS))
	cd $(DESTDIR)$(MANDIR)/man1 && rm -f $(notdir $(MANS))
	cd $(DESTDIR)$(MANDIR)/man7 && rm -f $(notdir $(MAN7))

# libFuzzer harnesses for the parsers (tests/fuzz/fuzz.c, built with clang), one name a line.
FUZZ = \
	doc \
	desc \
	ref \
	digest \
	regconf \
	archive \
	path \
	challenge
# Seconds each harness runs in `make check`, from its seed corpus tests/fuzz/corpus/NAME/.
FUZZ_TIME ?= 5
fuzz:
	@mkdir -p build/fuzz
	for t in $(FUZZ); do clang -g -O1 -fsanitize=fuzzer,address,undefined -std=gnu11 -Ilib \
		$(shell pkg-config --cflags $(PKGS)) -DFUZZ_$$t -o build/fuzz/$$t tests/fuzz/fuzz.c \
		$(LIBSRC) $(LDLIBS) || exit 1; done

# New inputs go to build/fuzz/NAME.corpus, a crash to build/fuzz/NAME-crash-…: add it to
# tests/fuzz/corpus/NAME/ once fixed, so that every later run tries it first.
fuzz-check: fuzz
	@for t in $(FUZZ); do mkdir -p build/fuzz/$$t.corpus; \
		echo "fuzz $$t: $(FUZZ_TIME)s from tests/fuzz/corpus/$$t"; \
		build/fuzz/$$t -max_total_time=$(FUZZ_TIME) -timeout=10 -rss_limit_mb=2048 \
			-print_final_stats=0 -artifact_prefix=build/fuzz/$$t- \
			build/fuzz/$$t.corpus tests/fuzz/corpus/$$t 2>build/fuzz/$$t.log || \
			{ tail -40 build/fuzz/$$t.log; exit 1; }; \
	done

clean:
	rm -rf build lib/*/*.o lib/liboci.a $(PROGS)

.PHONY: deps-demo all asan deps check bench demo install uninstall clean fuzz fuzz-check
.SECONDARY: $(LIBOBJ)
