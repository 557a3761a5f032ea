package sched

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
)

// MasterForms names the values --master accepts, for error messages.
const MasterForms = "host:port, host (port 5050), http[s]://host[:port][/path], unix:/path/of/socket (a local Mesos), or local[:N]"

// MasterEndpoint turns a --master value other than local[:N] into the URL
// of the master's v1 scheduler API,
// "<scheme>://<host>:<port>[/<path>]/api/v1/scheduler".
//
// It takes the forms Mesos tools take: host:port, or a bare host meaning
// port 5050; or an http:// or https:// URL, whose port defaults to the
// scheme's (80, 443) and whose path, if any, is the prefix of a master
// behind a reverse proxy. An IPv6 address goes in brackets ([::1]:5050).
// Trailing slashes are dropped, and so is the endpoint's own path when
// the value already ends in it. It refuses, in one line that starts with
// "--master VALUE:" and names the accepted forms, an empty value, ZooKeeper
// (zk://) and any other scheme, user info (credentials go in --principal
// and --secret-file), a query or fragment, an empty host, a port outside
// 1-65535, and whitespace or control characters.
//
// unix:PATH is a local Mesos' unix socket (localmesos.Cluster.URL): the
// endpoint is then http://localmesos:80/api/v1/scheduler, reached through
// PATH (masterSocket), which must be absolute and clean.
func MasterEndpoint(master string) (string, error) {
	endpoint, reason := masterURL(master)
	if path, ok := strings.CutPrefix(master, "unix:"); ok && strings.IndexFunc(master, unprintable) < 0 {
		endpoint, reason = unixEndpoint, ""
		if !filepath.IsAbs(path) || filepath.Clean(path) != path {
			endpoint, reason = "", "the socket's path must be absolute and clean"
		}
	}
	if reason == "" {
		return endpoint, nil
	}
	shown := master
	if master == "" || strings.IndexFunc(master, unprintable) >= 0 {
		shown = strconv.Quote(master)
	}
	return "", fmt.Errorf("--master %s: %s; accepted forms: %s", shown, reason, MasterForms)
}

// unixEndpoint is the endpoint of a unix:PATH master, whose host part no
// one resolves.
const unixEndpoint = "http://localmesos:80/api/v1/scheduler"

// masterSocket is the socket's path of a unix:PATH master, else "".
func masterSocket(master string) string {
	path, _ := strings.CutPrefix(master, "unix:")
	if path == master {
		return ""
	}
	return path
}

func unprintable(r rune) bool { return r == ' ' || !unicode.IsPrint(r) }

// masterURL is MasterEndpoint's endpoint for master, or why it refuses
// master.
func masterURL(master string) (endpoint, reason string) {
	if master == "" {
		return "", "empty value"
	}
	if strings.IndexFunc(master, unprintable) >= 0 {
		return "", "contains whitespace or a control character"
	}
	scheme, rest, defaultPort, reason := masterScheme(master)
	if reason == "" {
		reason = checkAuthority(rest)
	}
	if reason != "" {
		return "", reason
	}
	return schedulerURL(scheme, rest, defaultPort)
}

// masterScheme splits master into its scheme (lower case; http when it has
// none, as Mesos tools take host[:port]) and the rest, and gives the
// scheme's default port. Only http and https are supported.
func masterScheme(master string) (scheme, rest, defaultPort, reason string) {
	if s, r, ok := strings.Cut(master, "://"); ok {
		scheme, rest = strings.ToLower(s), r
		defaultPort = map[string]string{"http": "80", "https": "443"}[scheme]
	} else {
		scheme, rest, defaultPort = "http", master, "5050"
	}
	switch {
	case scheme == "zk":
		reason = "ZooKeeper master detection is not supported yet, give the leading master's host:port"
	case defaultPort == "":
		reason = fmt.Sprintf("scheme %q is not supported", scheme)
	}
	return scheme, rest, defaultPort, reason
}

// checkAuthority refuses a query or fragment, user info, and an IPv6
// address without brackets in rest, what follows the scheme.
func checkAuthority(rest string) (reason string) {
	if strings.ContainsAny(rest, "?#") {
		return "a query or fragment is not accepted"
	}
	authority, _, _ := strings.Cut(rest, "/")
	if strings.Contains(authority, "@") {
		return "user info is not accepted, give credentials with --principal and --secret-file"
	}
	if strings.Count(authority, ":") > 1 && !strings.HasPrefix(authority, "[") {
		return "an IPv6 address goes in brackets, as in [::1]:5050"
	}
	return ""
}

// schedulerURL parses scheme://rest and makes the scheduler endpoint of
// its host, port (defaultPort if none) and path.
func schedulerURL(scheme, rest, defaultPort string) (endpoint, reason string) {
	u, err := url.Parse(scheme + "://" + rest)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return "", err.Error()
	}
	if u.Hostname() == "" {
		return "", "no host"
	}
	port := u.Port()
	if port == "" && !strings.HasSuffix(u.Host, ":") {
		port = defaultPort
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", fmt.Sprintf("port %q is not from 1 to 65535", port)
	}
	e := url.URL{
		Scheme: scheme,
		Host:   net.JoinHostPort(u.Hostname(), strconv.Itoa(n)),
		Path:   strings.TrimSuffix(strings.TrimRight(u.Path, "/"), "/api/v1/scheduler") + "/api/v1/scheduler",
	}
	return e.String(), ""
}
