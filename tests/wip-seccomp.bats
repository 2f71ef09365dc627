#!/usr/bin/env bats
# oci-unshare: namespaces like `unshare -mur`, and containers with --rootfs
# and --image.  Every behaviour is checked as root and as user nobody; the
# image is a real one (Debian's static busybox) made with umoci.
# (Work in progress, to be merged into tests/oci-unshare.bats.)

bats_require_minimum_version 1.5.0
load helper
load container_helper

setup_file() {
	fixtures_dir
	{
		busybox_image bb latest
		umoci config --image bb:latest --tag app --config.user app
		umoci config --image bb:latest --tag appwheel --config.user app:wheel
		umoci config --image bb:latest --tag ghost --config.user ghost
		umoci config --image bb:latest --tag entry --config.entrypoint echo --config.entrypoint entry
		umoci unpack --image bb:latest bundle
		attack_rootfs "$F/evil" "$F/bundle/rootfs"
	} >/dev/null
	chmod -R a+rX "$F"
}

# ---- a container contains: each attack of an untrusted image, refused ----

like_docker() {
	run -0 as "$1" oci-unshare --rootfs "$F/evil" /attack vsock
	assert_output $'vsock: Operation not permitted\nvsock socketpair: Operation not permitted'
	run -0 as "$1" oci-unshare --rootfs "$F/evil" /attack alg
	assert_output 'alg: Operation not permitted'
	run -0 as "$1" oci-unshare --rootfs "$F/evil" /attack io_uring
	assert_output 'io_uring_setup: Operation not permitted'
	# Only the personalities docker allows; the query is one of them.
	run -0 as "$1" oci-unshare --rootfs "$F/evil" /attack personality
	assert_output $'personality READ_IMPLIES_EXEC: Operation not permitted\npersonality 1 << 32: Operation not permitted\npersonality query: done'
}
@test "seccomp refuses what docker's profile refuses: vsock and AF_ALG sockets, io_uring, other personalities (root)" { like_docker root; }
@test "seccomp refuses what docker's profile refuses: vsock and AF_ALG sockets, io_uring, other personalities (nobody)" { like_docker nobody; }
