package security

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const samplePasswd = `root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
# a comment line
broken:x:1500:1500:too:few
extra:x:1500:1500:gecos:/home/extra:/bin/sh:extra-field

alice:x:1500:1500:Alice,,,:/home/alice:/bin/bash
alice2:x:1500:1500::/home/alice2:/bin/bash
bob:x:1600:1600::/home/bob:/bin/zsh
nohome:x:1700:1700:::/bin/sh
padded:x: 1800:1800::/home/padded:/bin/sh
big:x:4294967295:100::/home/big:/bin/sh
`

func TestFindPasswd(t *testing.T) {
	tests := []struct {
		name     string
		uid      uint32
		wantName string
		wantHome string
	}{
		{"root", 0, "root", "/root"},
		{"system user", 1, "daemon", "/usr/sbin"},
		{"first well-formed entry wins over malformed and later lines", 1500, "alice", "/home/alice"},
		{"other user", 1600, "bob", "/home/bob"},
		{"empty home", 1700, "nohome", ""},
		{"uid with spaces is not matched", 1800, "", ""},
		{"max uid", 4294967295, "big", "/home/big"},
		{"missing uid", 4242, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, home := findPasswd(strings.NewReader(samplePasswd), tt.uid)
			if name != tt.wantName || home != tt.wantHome {
				t.Errorf("findPasswd(%d) = %q, %q, want %q, %q", tt.uid, name, home, tt.wantName, tt.wantHome)
			}
		})
	}

	t.Run("only lines with wrong field counts", func(t *testing.T) {
		text := "short:x:1500:1500\nlong:x:1500:1500:g:/home/long:/bin/sh:x\n"
		if name, home := findPasswd(strings.NewReader(text), 1500); name != "" || home != "" {
			t.Errorf("findPasswd = %q, %q, want nothing", name, home)
		}
	})
	t.Run("empty input", func(t *testing.T) {
		if name, home := findPasswd(strings.NewReader(""), 0); name != "" || home != "" {
			t.Errorf("findPasswd = %q, %q, want nothing", name, home)
		}
	})
}

// writeTemp writes data to the file name, mode perm (less the umask), in a
// new temporary directory and returns its path.
func writeTemp(t *testing.T, name, data string, perm os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(data), perm); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLookupPasswd(t *testing.T) {
	p := writeTemp(t, "passwd", samplePasswd, 0o644)
	tests := []struct {
		name     string
		path     string
		uid      uint32
		wantName string
		wantHome string
	}{
		{"found", p, 1600, "bob", "/home/bob"},
		{"not found keeps empty name", p, 4242, "", ""},
		{"missing file keeps empty name", filepath.Join(t.TempDir(), "nope"), 1600, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Caller{UID: tt.uid, GID: 7}
			c.LookupPasswd(tt.path)
			if c.Name != tt.wantName || c.Home != tt.wantHome || c.UID != tt.uid || c.GID != 7 {
				t.Errorf("LookupPasswd: %+v, want name %q home %q", c, tt.wantName, tt.wantHome)
			}
		})
	}
}

const sampleGroup = `root:x:0:
sudo:x:27:alice
docker:x:999:bob,carol
disk:x:6:
# comment
adm
wheel:x:notanumber:
broken:x
`

func TestGroupIDs(t *testing.T) {
	p := writeTemp(t, "group", sampleGroup, 0o644)
	tests := []struct {
		name  string
		names []string
		want  map[uint32]string
	}{
		{"names resolve", []string{"docker", "sudo", "disk"}, map[uint32]string{999: "docker", 27: "sudo", 6: "disk"}},
		{"numeric entries taken as-is", []string{"4242", "0"}, map[uint32]string{4242: "4242", 0: "0"}},
		{"numeric and names mixed", []string{"docker", "123"}, map[uint32]string{999: "docker", 123: "123"}},
		{"unknown names skipped", []string{"docker", "nosuchgroup"}, map[uint32]string{999: "docker"}},
		{"line with too few fields skipped", []string{"adm", "broken"}, map[uint32]string{}},
		{"non-numeric gid skipped", []string{"wheel"}, map[uint32]string{}},
		{"numeric out of range is a name, not found", []string{"4294967296"}, map[uint32]string{}},
		{"no names", nil, map[uint32]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := GroupIDs(p, tt.names)
			if err != nil {
				t.Fatalf("GroupIDs: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("GroupIDs(%q) = %v, want %v", tt.names, got, tt.want)
			}
		})
	}

	t.Run("missing file is an error naming it when a name must be resolved", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "group")
		_, err := GroupIDs(missing, []string{"docker"})
		if err == nil || !strings.Contains(err.Error(), missing) {
			t.Errorf("GroupIDs(missing) error = %v, want one naming %s", err, missing)
		}
	})
	t.Run("missing file is not read for numeric entries only", func(t *testing.T) {
		got, err := GroupIDs(filepath.Join(t.TempDir(), "group"), []string{"999"})
		if err != nil || !reflect.DeepEqual(got, map[uint32]string{999: "999"}) {
			t.Errorf("GroupIDs = %v, %v", got, err)
		}
	})
}

func TestKernelCaller(t *testing.T) {
	c, setuid, err := KernelCaller()
	if err != nil {
		t.Fatal(err)
	}
	if c.UID != uint32(os.Getuid()) || c.GID != uint32(os.Getgid()) || setuid != (os.Geteuid() == 0) {
		t.Errorf("caller %d:%d setuid %v, want %d:%d %v", c.UID, c.GID, setuid, os.Getuid(), os.Getgid(), os.Geteuid() == 0)
	}
	want, err := InheritedLimits()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Limits, want) || len(c.Limits) == 0 {
		t.Errorf("Limits = %v, want the inherited %v", c.Limits, want)
	}
}
