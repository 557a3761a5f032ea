package wrapper

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/sockerhpc/socker/security"
)

func TestParseRun(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want security.Request
	}{
		{
			name: "image and command only",
			args: []string{"ubuntu", "echo", "hi"},
			want: security.Request{Image: "ubuntu", Command: []string{"echo", "hi"}},
		},
		{
			name: "--mount with separate value",
			args: []string{"--mount", "/scratch/a:/data", "ubuntu", "ls"},
			want: security.Request{Image: "ubuntu", Mounts: []string{"/scratch/a:/data"}, Command: []string{"ls"}},
		},
		{
			name: "--mount=value",
			args: []string{"--mount=/scratch/a:/data:ro", "ubuntu", "ls"},
			want: security.Request{Image: "ubuntu", Mounts: []string{"/scratch/a:/data:ro"}, Command: []string{"ls"}},
		},
		{
			name: "repeated --mount in both forms keeps order",
			args: []string{"--mount", "/a:/a", "--mount=/b:/b", "--mount", "/c:/c:ro", "img", "true"},
			want: security.Request{Image: "img", Mounts: []string{"/a:/a", "/b:/b", "/c:/c:ro"}, Command: []string{"true"}},
		},
		{
			name: "repeated --env keeps order and = in values",
			args: []string{"--env", "A=1", "--env=B=x=y", "--env", "C=", "img", "env"},
			want: security.Request{Image: "img", Env: []string{"A=1", "B=x=y", "C="}, Command: []string{"env"}},
		},
		{
			name: "--workdir with separate value",
			args: []string{"--workdir", "/data", "img", "pwd"},
			want: security.Request{Image: "img", Workdir: "/data", Command: []string{"pwd"}},
		},
		{
			name: "--workdir=value",
			args: []string{"--workdir=/data", "img", "pwd"},
			want: security.Request{Image: "img", Workdir: "/data", Command: []string{"pwd"}},
		},
		{
			name: "all options mixed",
			args: []string{"--env", "A=1", "--workdir=/w", "--mount", "/s:/s", "--env=B=2", "img", "cmd", "arg"},
			want: security.Request{Image: "img", Mounts: []string{"/s:/s"}, Workdir: "/w", Env: []string{"A=1", "B=2"}, Command: []string{"cmd", "arg"}},
		},
		{
			name: "option values that look like options are values",
			args: []string{"--env", "--privileged", "--mount", "-v", "img", "true"},
			want: security.Request{Image: "img", Mounts: []string{"-v"}, Env: []string{"--privileged"}, Command: []string{"true"}},
		},
		{
			name: "empty --mount= value is kept for the policy to refuse",
			args: []string{"--mount=", "img", "true"},
			want: security.Request{Image: "img", Mounts: []string{""}, Command: []string{"true"}},
		},
		{
			name: "-- before image",
			args: []string{"--mount", "/a:/b", "--", "img", "ls"},
			want: security.Request{Image: "img", Mounts: []string{"/a:/b"}, Command: []string{"ls"}},
		},
		{
			name: "-- after image is dropped once",
			args: []string{"img", "--", "ls", "-l"},
			want: security.Request{Image: "img", Command: []string{"ls", "-l"}},
		},
		{
			name: "-- before and after image",
			args: []string{"--", "img", "--", "--privileged"},
			want: security.Request{Image: "img", Command: []string{"--privileged"}},
		},
		{
			name: "second -- after image is part of the command",
			args: []string{"img", "--", "--", "x"},
			want: security.Request{Image: "img", Command: []string{"--", "x"}},
		},
		{
			name: "-- later in the command is kept",
			args: []string{"img", "git", "log", "--", "file"},
			want: security.Request{Image: "img", Command: []string{"git", "log", "--", "file"}},
		},
		{
			name: "command args that look like options are kept verbatim",
			args: []string{"IMAGE", "ls", "--privileged", "-v", "--mount=/:/host", "--workdir", "/proc"},
			want: security.Request{Image: "IMAGE", Command: []string{"ls", "--privileged", "-v", "--mount=/:/host", "--workdir", "/proc"}},
		},
		{
			name: "command starting with a dash after image",
			args: []string{"img", "-c", "echo"},
			want: security.Request{Image: "img", Command: []string{"-c", "echo"}},
		},
		{
			name: "empty command argument kept",
			args: []string{"img", "echo", ""},
			want: security.Request{Image: "img", Command: []string{"echo", ""}},
		},
		{
			name: "empty image is left for the policy to refuse",
			args: []string{"", "true"},
			want: security.Request{Image: "", Command: []string{"true"}},
		},
		{
			name: "image that only contains = is not an option",
			args: []string{"a=b", "true"},
			want: security.Request{Image: "a=b", Command: []string{"true"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string(nil), tt.args...)
			got, err := ParseRun(args)
			if err != nil {
				t.Fatalf("ParseRun(%q): %v", tt.args, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseRun(%q):\n got %#v\nwant %#v", tt.args, got, tt.want)
			}
			if !reflect.DeepEqual(args, tt.args) {
				t.Errorf("ParseRun changed its argument: %q", args)
			}
		})
	}
}

func TestParseRunErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // substring of the message
	}{
		{"empty args", []string{}, "no image given"},
		{"nil args", nil, "no image given"},
		{"unknown option --privileged", []string{"--privileged", "img", "true"}, `unknown option "--privileged"`},
		{"unknown option -v", []string{"-v", "/:/host", "img", "true"}, `unknown option "-v"`},
		{"unknown option --config=/etc/shadow", []string{"--config=/etc/shadow", "img", "true"}, `unknown option "--config=/etc/shadow"`},
		{"unknown option --volume=", []string{"--volume=/:/host", "img", "true"}, "unknown option"},
		{"single dash", []string{"-", "img", "true"}, "unknown option"},
		{"short form of a known option", []string{"-e", "A=1", "img", "true"}, "unknown option"},
		{"option prefix --mounts", []string{"--mounts", "/a:/b", "img", "true"}, "unknown option"},
		{"uppercase option --MOUNT", []string{"--MOUNT", "/a:/b", "img", "true"}, "unknown option"},
		{"triple dash", []string{"---mount", "/a:/b", "img", "true"}, "unknown option"},
		{"unknown option after a known one", []string{"--env", "A=1", "--privileged", "img", "true"}, "unknown option"},
		{"missing value for --mount", []string{"--mount"}, "option --mount needs a value"},
		{"missing value for --env", []string{"--env"}, "option --env needs a value"},
		{"missing value for --workdir", []string{"--workdir"}, "option --workdir needs a value"},
		{"empty --workdir=", []string{"--workdir=", "img", "true"}, "option --workdir needs a value"},
		{"empty --workdir value", []string{"--workdir", "", "img", "true"}, "option --workdir needs a value"},
		{"--workdir twice", []string{"--workdir", "/a", "--workdir=/b", "img", "true"}, "option --workdir given twice"},
		{"no image after options", []string{"--mount", "/a:/b"}, "no image given"},
		{"no image after --", []string{"--env=A=1", "--"}, "no image given"},
		{"only --", []string{"--"}, "no image given"},
		{"image -x after --", []string{"--", "-x", "true"}, `invalid image name "-x": looks like an option`},
		{"image --privileged after --", []string{"--", "--privileged", "true"}, "looks like an option"},
		{"no command", []string{"img"}, "no command given"},
		{"no command after --", []string{"img", "--"}, "no command given"},
		{"no command with options", []string{"--mount=/a:/b", "--", "img", "--"}, "no command given"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRun(tt.args)
			if err == nil {
				t.Fatalf("ParseRun(%q) = %#v, want error %q", tt.args, got, tt.want)
			}
			var ue *usageError
			if !errors.As(err, &ue) {
				t.Fatalf("ParseRun(%q) error %v is a %T, want *usageError", tt.args, err, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseRun(%q) error %q, want %q", tt.args, err, tt.want)
			}
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

// Whatever the arguments, ParseRun never returns an image that looks like an
// option, and the command is exactly the tail of the arguments.
func TestParseRunImageNeverAnOption(t *testing.T) {
	words := []string{"--", "-", "--mount", "--env", "--workdir", "--mount=x", "-v", "img", "cmd", ""}
	var args []string
	var walk func(depth int)
	walk = func(depth int) {
		if req, err := ParseRun(args); err == nil {
			if strings.HasPrefix(req.Image, "-") {
				t.Fatalf("ParseRun(%q) image %q", args, req.Image)
			}
			if n := len(req.Command); n == 0 || !reflect.DeepEqual(req.Command, args[len(args)-n:]) {
				t.Fatalf("ParseRun(%q) command %q is not the tail of the arguments", args, req.Command)
			}
		}
		if depth == 0 {
			return
		}
		for _, w := range words {
			args = append(args, w)
			walk(depth - 1)
			args = args[:len(args)-1]
		}
	}
	walk(5)
}

func TestCleanEnvironment(t *testing.T) {
	for _, c := range []struct {
		env  []string
		want bool
	}{
		{nil, true},
		{[]string{"GOTRACEBACK=none"}, true}, // what secure mode appends after the re-exec
		{[]string{"GOTRACEBACK=none", "GOTRACEBACK=none"}, true},
		{[]string{"GOTRACEBACK=crash"}, false},
		{[]string{"PATH=/bin"}, false},
		{[]string{"GOTRACEBACK=none", "GODEBUG=x=1"}, false},
		{[]string{""}, false},
	} {
		if got := clean(c.env); got != c.want {
			t.Errorf("clean(%q) = %v, want %v", c.env, got, c.want)
		}
	}
}
