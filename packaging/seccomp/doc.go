// Command seccomp writes seccomp.json, the seccomp profile the package
// installs as /etc/socker/seccomp.json and the packaged configs name in
// container.seccomp_profile: Moby's current default profile
// (github.com/moby/profiles/seccomp, the version in go.mod), unchanged.
//
// Why socker ships it: Debian 12's Docker (20.10) has an older built-in
// profile that denies process_vm_readv and process_vm_writev (cross-memory
// attach) to a container without CAP_SYS_PTRACE, although it allows ptrace
// itself, which reaches the same memory under the same kernel check. MPI
// (UCX's cma transport) uses them for single-copy messages between ranks of
// one container; without them large messages go through shared memory
// twice. Moby's current profile allows both on kernels from 4.8, as it does
// ptrace. SECURITY.md, "Seccomp and cross-memory attach", gives the
// argument and the tests.
//
// Run `go run ./packaging/seccomp` from the repository's root after
// changing the module's version in go.mod; its test fails while
// seccomp.json differs from what it would write. This package is not part
// of the setuid binary.
package main
