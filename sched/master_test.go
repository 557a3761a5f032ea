package sched

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"
)

// acceptedMasters are --master values MasterEndpoint takes, and the
// endpoint each gives.
var acceptedMasters = []struct{ master, endpoint string }{
	{"master:5050", "http://master:5050/api/v1/scheduler"},
	{"127.0.0.1:5050", "http://127.0.0.1:5050/api/v1/scheduler"},
	{"master", "http://master:5050/api/v1/scheduler"},
	{"master:5050/", "http://master:5050/api/v1/scheduler"},
	{"master:1", "http://master:1/api/v1/scheduler"},
	{"master:65535", "http://master:65535/api/v1/scheduler"},
	{"master:05050", "http://master:5050/api/v1/scheduler"},
	{"http://master:5050", "http://master:5050/api/v1/scheduler"},
	{"http://master:5050/", "http://master:5050/api/v1/scheduler"},
	{"http://master", "http://master:80/api/v1/scheduler"},
	{"https://master:5050", "https://master:5050/api/v1/scheduler"},
	{"https://master", "https://master:443/api/v1/scheduler"},
	{"HTTP://master:5050", "http://master:5050/api/v1/scheduler"},
	{"[::1]:5050", "http://[::1]:5050/api/v1/scheduler"},
	{"[::1]", "http://[::1]:5050/api/v1/scheduler"},
	{"http://[::1]:5050", "http://[::1]:5050/api/v1/scheduler"},
	{"https://[2001:db8::1]", "https://[2001:db8::1]:443/api/v1/scheduler"},
	{"http://[fe80::1%25eth0]:5050", "http://[fe80::1%25eth0]:5050/api/v1/scheduler"},
	{"http://proxy/mesos", "http://proxy:80/mesos/api/v1/scheduler"},
	{"http://proxy/mesos/", "http://proxy:80/mesos/api/v1/scheduler"},
	{"https://proxy:8443/a/mesos//", "https://proxy:8443/a/mesos/api/v1/scheduler"},
	{"proxy:8080/mesos", "http://proxy:8080/mesos/api/v1/scheduler"},
	{"http://master:5050/api/v1/scheduler", "http://master:5050/api/v1/scheduler"},
	{"master:5050/api/v1/scheduler/", "http://master:5050/api/v1/scheduler"},
	{"unix:/tmp/localmesos-1/master-2/master.sock", "http://localmesos:80/api/v1/scheduler"},
}

func TestMasterEndpoint_Accepted(t *testing.T) {
	for _, tt := range acceptedMasters {
		got, err := MasterEndpoint(tt.master)
		if err != nil || got != tt.endpoint {
			t.Errorf("MasterEndpoint(%q) = %q, %v; want %q", tt.master, got, err, tt.endpoint)
		}
	}
}

// Every refused value gives one line that starts with "--master VALUE: ",
// says why and names the accepted forms.
func TestMasterEndpoint_Refused(t *testing.T) {
	const forms = "; accepted forms: host:port, host (port 5050), http[s]://host[:port][/path], unix:/path/of/socket (a local Mesos), or local[:N]"
	for _, tt := range []struct{ master, err string }{
		{"unix:", "--master unix:: the socket's path must be absolute and clean"},
		{"unix:run/m.sock", "--master unix:run/m.sock: the socket's path must be absolute and clean"},
		{"unix:/run/../m.sock", "--master unix:/run/../m.sock: the socket's path must be absolute and clean"},
		{"unix:/run/m sock", `--master "unix:/run/m sock": contains whitespace or a control character`},
		{"", `--master "": empty value`},
		{"zk://h:2181/mesos", "--master zk://h:2181/mesos: ZooKeeper master detection is not supported yet, give the leading master's host:port"},
		{"zk://a:2181,b:2181/mesos", "--master zk://a:2181,b:2181/mesos: ZooKeeper master detection is not supported yet, give the leading master's host:port"},
		{"ftp://master:5050", `--master ftp://master:5050: scheme "ftp" is not supported`},
		{"file:///etc/mesos/master", `--master file:///etc/mesos/master: scheme "file" is not supported`},
		{"://master:5050", `--master ://master:5050: scheme "" is not supported`},
		{"http://u:p@master:5050", "--master http://u:p@master:5050: user info is not accepted, give credentials with --principal and --secret-file"},
		{"u@master:5050", "--master u@master:5050: user info is not accepted, give credentials with --principal and --secret-file"},
		{"http://master:5050/?x=1", "--master http://master:5050/?x=1: a query or fragment is not accepted"},
		{"http://master:5050?", "--master http://master:5050?: a query or fragment is not accepted"},
		{"master:5050#top", "--master master:5050#top: a query or fragment is not accepted"},
		{"http://", "--master http://: no host"},
		{":5050", "--master :5050: no host"},
		{"http://:5050/mesos", "--master http://:5050/mesos: no host"},
		{"master:0", `--master master:0: port "0" is not from 1 to 65535`},
		{"master:65536", `--master master:65536: port "65536" is not from 1 to 65535`},
		{"http://master:", `--master http://master:: port "" is not from 1 to 65535`},
		{"master:x", `--master master:x: invalid port ":x" after host`},
		{"master:-1", `--master master:-1: invalid port ":-1" after host`},
		{"::1", "--master ::1: an IPv6 address goes in brackets, as in [::1]:5050"},
		{"http://::1:5050", "--master http://::1:5050: an IPv6 address goes in brackets, as in [::1]:5050"},
		{"[::1:5050", `--master [::1:5050: missing ']' in host`},
		{" master:5050", `--master " master:5050": contains whitespace or a control character`},
		{"master:5050\n", `--master "master:5050\n": contains whitespace or a control character`},
		{"http://mas\tter", `--master "http://mas\tter": contains whitespace or a control character`},
		{"master\x1b[2J:5050", `--master "master\x1b[2J:5050": contains whitespace or a control character`},
		{"master\u00a0:5050", `--master "master\u00a0:5050": contains whitespace or a control character`},
	} {
		got, err := MasterEndpoint(tt.master)
		if err == nil || err.Error() != tt.err+forms || got != "" {
			t.Errorf("MasterEndpoint(%q) = %q, %v\nwant error %q", tt.master, got, err, tt.err+forms)
		}
	}
}

// Every endpoint is an absolute http(s) URL with a host and a port, no user
// info, query or fragment, whose path ends in /api/v1/scheduler; and the
// endpoint's base, given as --master, gives the same endpoint again.
func TestMasterEndpoint_EndpointIsSchedulerURL(t *testing.T) {
	for _, tt := range acceptedMasters {
		got, err := MasterEndpoint(tt.master)
		if err != nil {
			t.Errorf("MasterEndpoint(%q): %v", tt.master, err)
			continue
		}
		u, err := url.Parse(got)
		if err != nil {
			t.Errorf("MasterEndpoint(%q) = %q: %v", tt.master, got, err)
			continue
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.Port() == "" ||
			u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" ||
			!strings.HasSuffix(u.Path, "/api/v1/scheduler") {
			t.Errorf("MasterEndpoint(%q) = %q, not an http(s)://host:port/.../api/v1/scheduler URL", tt.master, got)
		}
		base := strings.TrimSuffix(got, "/api/v1/scheduler")
		if again, err := MasterEndpoint(base); err != nil || again != got {
			t.Errorf("MasterEndpoint(%q) = %q, %v; want %q, as for %q", base, again, err, got, tt.master)
		}
	}
}

// Run refuses a bad master with status 2, before subscribing.
func TestRun_BadMaster(t *testing.T) {
	f := newFakes(t, "ok", "0")
	j := newJob("zk://h:2181/mesos", f)
	code, err := Run(context.Background(), j.Options)
	if code != 2 || err == nil || !strings.HasPrefix(err.Error(), "--master zk://h:2181/mesos: ") {
		t.Errorf("Run = %d, %v; want 2 and the --master error", code, err)
	}
}

// --master host:port, as Mesos tools take it, reaches the master: the job
// runs on the embedded local Mesos through a TCP proxy on 127.0.0.1:PORT.
func TestRun_MasterHostPort(t *testing.T) {
	cluster := startCluster(t, 0)
	hostPort := strings.TrimPrefix(newSilencer(t, cluster).URL(), "http://")
	f := newFakes(t, "ok", "0")
	j := newJob(hostPort, f)
	r := j.await(t, j.start(context.Background()), 10*time.Second)
	if r.err != nil || r.code != 0 {
		t.Fatalf("Run with --master %s = %d, %v; want 0, nil", hostPort, r.code, r.err)
	}
	checkReleased(t, cluster, j.frameworkID(t))
}
