package main

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
)

// The committed profile is what `go run ./packaging/seccomp` writes from
// the module in go.mod.
func TestProfileIsMobysDefault(t *testing.T) {
	want, err := profile()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("seccomp.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("seccomp.json differs from Moby's default profile: run go run ./packaging/seccomp from the repository's root")
	}
}

// What the profile is shipped for, and what it must not give: cross-memory
// attach and ptrace unconditionally (kernels from 4.8), the rest of the
// ptrace family (kcmp, pidfd_getfd, process_madvise) only with
// CAP_SYS_PTRACE, which socker never grants.
func TestProfileAllowsCrossMemoryAttachOnly(t *testing.T) {
	var p struct {
		DefaultAction string `json:"defaultAction"`
		Syscalls      []struct {
			Names    []string `json:"names"`
			Action   string   `json:"action"`
			Includes struct {
				Caps      []string `json:"caps"`
				MinKernel string   `json:"minKernel"`
			} `json:"includes"`
		} `json:"syscalls"`
	}
	b, err := os.ReadFile("seccomp.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	if p.DefaultAction != "SCMP_ACT_ERRNO" {
		t.Errorf("defaultAction %q", p.DefaultAction)
	}
	allowedWithoutCaps := map[string]bool{}
	for _, s := range p.Syscalls {
		if s.Action == "SCMP_ACT_ALLOW" && len(s.Includes.Caps) == 0 {
			for _, n := range s.Names {
				allowedWithoutCaps[n] = true
			}
		}
	}
	for _, n := range []string{"process_vm_readv", "process_vm_writev", "ptrace"} {
		if !allowedWithoutCaps[n] {
			t.Errorf("%s is not allowed without a capability", n)
		}
	}
	for _, n := range []string{"kcmp", "pidfd_getfd", "process_madvise", "mount", "umount2", "unshare", "setns", "bpf", "perf_event_open", "init_module", "kexec_load", "open_by_handle_at"} {
		if allowedWithoutCaps[n] {
			t.Errorf("%s is allowed without a capability", n)
		}
	}
}
