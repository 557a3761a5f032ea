package security

import (
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

func TestReadLimits(t *testing.T) {
	lims, err := readLimits()
	if err != nil {
		t.Fatal(err)
	}
	if len(lims) != 16 {
		t.Errorf("%d limits, want Linux's 16", len(lims))
	}
	seen := map[string]bool{}
	for i, l := range lims {
		if seen[l.Name] {
			t.Errorf("limit %q twice", l.Name)
		}
		seen[l.Name] = true
		var want unix.Rlimit
		if err := unix.Getrlimit(resources[i].resource, &want); err != nil {
			t.Fatal(err)
		}
		if l.Soft != want.Cur || l.Hard != want.Max || l.Soft > l.Hard {
			t.Errorf("%s = %d/%d, getrlimit says %d/%d", l.Name, l.Soft, l.Hard, want.Cur, want.Max)
		}
	}
	// The names are Docker's (HostConfig.Ulimits), which runc maps to
	// RLIMIT_<NAME>.
	for _, n := range []string{"as", "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice",
		"nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"} {
		if !seen[n] {
			t.Errorf("no %q limit", n)
		}
	}
}

func TestInheritedLimits(t *testing.T) {
	defer func(old []Limit) { inherited = old }(inherited)
	inherited = nil
	now, err := readLimits()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := InheritedLimits(); err != nil || !slices.Equal(got, now) {
		t.Errorf("before Harden: %v, %v; want the current limits %v", got, err, now)
	}
	inherited = []Limit{{Name: "nofile", Soft: 200, Hard: 200}}
	got, err := InheritedLimits()
	if err != nil || !slices.Equal(got, inherited) {
		t.Errorf("after Harden: %v, %v; want the recorded %v", got, err, inherited)
	}
	got[0].Soft = 1
	if inherited[0].Soft != 200 {
		t.Error("InheritedLimits returned the recorded slice itself")
	}
}

// withLimit sets resource to lim for the test and restores it afterwards.
func withLimit(t *testing.T, resource int, lim unix.Rlimit) {
	t.Helper()
	var old unix.Rlimit
	if err := unix.Getrlimit(resource, &old); err != nil {
		t.Fatal(err)
	}
	if err := unix.Setrlimit(resource, &lim); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := unix.Setrlimit(resource, &old); err != nil {
			t.Fatal(err)
		}
	})
}

func TestRaiseLimit(t *testing.T) {
	var fsize, nofile unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_FSIZE, &fsize); err != nil {
		t.Fatal(err)
	}
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &nofile); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		resource int
		set      unix.Rlimit
		floor    uint64
		want     unix.Rlimit
	}{
		// Unprivileged (or without CAP_SYS_RESOURCE) the hard limit stays
		// and the soft one goes up to it; root with it raises both.
		{"soft file size raised", unix.RLIMIT_FSIZE, unix.Rlimit{Cur: 1 << 20, Max: fsize.Max}, Unlimited, unix.Rlimit{Cur: fsize.Max, Max: fsize.Max}},
		{"open files raised to the floor", unix.RLIMIT_NOFILE, unix.Rlimit{Cur: 100, Max: nofile.Max}, 1000, unix.Rlimit{Cur: min(1000, nofile.Max), Max: nofile.Max}},
		{"a limit above the floor is kept", unix.RLIMIT_NOFILE, unix.Rlimit{Cur: 500, Max: nofile.Max}, 100, unix.Rlimit{Cur: 500, Max: nofile.Max}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			withLimit(t, c.resource, c.set)
			if err := raiseLimit(c.resource, c.floor); err != nil {
				t.Fatal(err)
			}
			var got unix.Rlimit
			if err := unix.Getrlimit(c.resource, &got); err != nil {
				t.Fatal(err)
			}
			if c.want.Max < c.floor && got.Max >= c.floor {
				return // root with CAP_SYS_RESOURCE raised the hard limit too
			}
			if got != c.want {
				t.Errorf("limit %d/%d, want %d/%d", got.Cur, got.Max, c.want.Cur, c.want.Max)
			}
		})
	}
}
